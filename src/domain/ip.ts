/**
 * IP addresses as text: strict parsing to one canonical spelling, so an
 * address the metadata lists and the same address `ip` shows compare equal,
 * and nothing but an address ever reaches an `ip` command line.
 */

const OCTET = /^(0|[1-9]\d{0,2})$/

/** an IPv4 address in dotted-quad form, canonical; undefined for anything else */
export const ipv4 = (text: string): string | undefined => {
  const parts = text.trim().split(".")
  if (parts.length !== 4 || !parts.every((p) => OCTET.test(p) && Number(p) <= 255)) return undefined
  return parts.map(Number).join(".")
}

const toInt = (address: string): number => address.split(".").reduce((n, p) => n * 256 + Number(p), 0)
const fromInt = (n: number): string => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".")

/** `A.B.C.D/BITS`, its network address canonical; undefined for anything else */
export const ipv4Cidr = (text: string): { readonly network: string; readonly bits: number } | undefined => {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(text.trim())
  const address = m ? ipv4(m[1]!) : undefined
  const bits = Number(m?.[2])
  if (address === undefined || !(bits >= 0 && bits <= 32)) return undefined
  const size = 2 ** (32 - bits)
  return { network: fromInt(Math.floor(toInt(address) / size) * size), bits }
}

/** the first host of a network (`10.0.1.0/24` → `10.0.1.1`): where the clouds put the gateway */
export const firstHost = (cidr: { readonly network: string; readonly bits: number }): string =>
  fromInt(toInt(cidr.network) + (cidr.bits >= 31 ? 0 : 1))

/** an IPv6 address, canonical as RFC 5952 writes it (lower case, the longest run of zero groups as `::`); undefined for anything else */
export const ipv6 = (text: string): string | undefined => {
  let s = text.trim().toLowerCase()
  if (s.includes("%") || !/^[0-9a-f:.]+$/.test(s)) return undefined
  // a dotted IPv4 tail stands for the last two groups
  const tail = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(s)
  if (tail) {
    const v4 = ipv4(tail[2]!)
    if (v4 === undefined) return undefined
    const n = toInt(v4)
    s = `${tail[1]}${Math.floor(n / 65536).toString(16)}:${(n % 65536).toString(16)}`
  }
  const halves = s.split("::")
  if (halves.length > 2) return undefined
  const groupsOf = (part: string) => (part === "" ? [] : part.split(":"))
  const head = groupsOf(halves[0]!)
  const rest = halves.length === 2 ? groupsOf(halves[1]!) : []
  const missing = 8 - head.length - rest.length
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill("0"), ...rest]
  if (!groups.every((g) => /^[0-9a-f]{1,4}$/.test(g))) return undefined
  const values = groups.map((g) => parseInt(g, 16).toString(16))
  // the longest run of two or more zero groups, the first of equals
  let best = { at: -1, length: 1 }
  for (let i = 0; i < 8; ) {
    let j = i
    while (j < 8 && values[j] === "0") j++
    if (j - i > best.length) best = { at: i, length: j - i }
    i = j === i ? i + 1 : j
  }
  if (best.at < 0) return values.join(":")
  return `${values.slice(0, best.at).join(":")}::${values.slice(best.at + best.length).join(":")}`
}
