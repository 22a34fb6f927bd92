/**
 * What may go into `authorized_keys`: OpenSSH public keys, one a line. A
 * key from the cloud's metadata is `TYPE BASE64 [COMMENT]`; options in front
 * of a key (`command="..."`, `from=...`) are taken only from the user's own
 * user-data. A key holding a line break is as many lines, each checked; a
 * line holding a NUL or another control character is no key.
 */

const KEY_TYPES = new Set([
  "ssh-rsa",
  "ssh-dss",
  "ssh-ed25519",
  "ssh-ed448",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "sk-ssh-ed25519@openssh.com",
  "sk-ecdsa-sha2-nistp256@openssh.com"
])

/** a key type, or the certificate of one: `ssh-ed25519-cert-v01@openssh.com`; a security key's keeps no `@openssh.com` of its own (`sk-ssh-ed25519-cert-v01@openssh.com`) */
const isKeyType = (word: string) => {
  const certified = /^(.+)-cert-v01@openssh\.com$/.exec(word)?.[1]
  return KEY_TYPES.has(word) || (certified !== undefined && (KEY_TYPES.has(certified) || KEY_TYPES.has(`${certified}@openssh.com`)))
}

const BLOB = /^[A-Za-z0-9+/]+={0,3}$/

/** the control characters a key line never holds (a tab separates its words) */
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/

/** `TYPE BLOB [COMMENT]` at the start of `text`, or undefined */
const keyAt = (text: string): string | undefined => {
  const m = /^(\S+)\s+(\S+)(?:\s+(.*))?$/.exec(text)
  if (m === null || !isKeyType(m[1]!) || !BLOB.test(m[2]!)) return undefined
  return m[3] === undefined || m[3].trim() === "" ? `${m[1]} ${m[2]}` : `${m[1]} ${m[2]} ${m[3].trim()}`
}

/** the options in front of a key: up to the first blank outside double quotes */
const splitOptions = (line: string): [options: string, rest: string] | undefined => {
  let quoted = false
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!
    if (c === "\\" && quoted) i++
    else if (c === '"') quoted = !quoted
    else if (!quoted && (c === " " || c === "\t")) return [line.slice(0, i), line.slice(i).trim()]
  }
  return undefined
}

export interface AuthorizedKeys {
  /** the lines to write */
  readonly keys: ReadonlyArray<string>
  /** how many lines were dropped (not keys, or options from the cloud) */
  readonly dropped: number
}

/** the authorized_keys lines of these entries, each once; blank and `#` lines are left out, not counted */
export const authorizedKeys = (entries: ReadonlyArray<string>, options: { readonly allowOptions: boolean }): AuthorizedKeys => {
  // each once, in the order first given: found in a set, not by searching the list (100,000 keys of user-data were minutes)
  const keys = new Set<string>()
  let dropped = 0
  const add = (key: string) => void keys.add(key)
  for (const line of entries.flatMap((e) => e.split(/\r?\n|\r/)).map((l) => l.trim())) {
    if (line === "" || line.startsWith("#")) continue
    // a NUL or another control character: no text line of a key (sshd would read a line other than the one checked)
    if (CONTROL.test(line)) {
      dropped++
      continue
    }
    const plain = keyAt(line)
    if (plain !== undefined) {
      add(plain)
      continue
    }
    const split = options.allowOptions ? splitOptions(line) : undefined
    const withOptions = split === undefined ? undefined : keyAt(split[1])
    if (split !== undefined && withOptions !== undefined) add(`${split[0]} ${withOptions}`)
    else dropped++
  }
  return { keys: [...keys], dropped }
}

/**
 * The keys an `authorized_keys` file already grants, as `authorizedKeys`
 * writes them, to tell which are there: each line as sshd reads it. A line
 * ends at LF alone; a CR ends what it holds (CR LF is a line of Windows; what
 * follows a CR alone is the comment of the key before it, or breaks it: no key
 * to sshd), and so does a NUL (sshd reads each line as a C string); sshd
 * passes over spaces and tabs in front of a line and nothing
 * else (a no-break space there makes the line no key to it), and splits the
 * type from the blob, and the blob from the comment, at spaces and tabs alone.
 */
export const grantedKeys = (text: string): ReadonlyArray<string> =>
  authorizedKeys(
    text.split("\n").map((line) => line.split(/[\r\0]/, 1)[0]!.replace(/^[ \t]+/, "")).filter(sshdReadsKey),
    { allowOptions: true }
  ).keys

/** a key's type and blob where sshd finds them: each ends at a space or a tab (any other blank is part of the word to it) */
const sshdKeyAt = (text: string): boolean => {
  const m = /^([^ \t]+)[ \t]+([^ \t]+)(?:[ \t]|$)/.exec(text)
  return m !== null && isKeyType(m[1]!) && BLOB.test(m[2]!)
}

/** a line (spaces and tabs in front passed over) that sshd reads as a key, with or without options in front */
const sshdReadsKey = (line: string): boolean => {
  if (/^\s/.test(line)) return false
  if (sshdKeyAt(line)) return true
  const split = splitOptions(line)
  return split !== undefined && sshdKeyAt(line.slice(split[0].length).replace(/^[ \t]+/, ""))
}
