/** Address arithmetic the clouds' NIC aliases need: the network of an address and its mask. */

/** a dotted IPv4 address as a number; undefined for anything else */
const quad = (s: unknown): number | undefined => {
  const m = typeof s === "string" ? /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s.trim()) : null
  if (m === null) return undefined
  const parts = m.slice(1, 5).map(Number)
  return parts.some((p) => p > 255) ? undefined : parts.reduce((n, p) => n * 256 + p, 0)
}

/** the prefix length of a dotted netmask or of a number of bits given as text ("255.255.240.0", "20") */
const ipv4Bits = (mask: unknown): number | undefined => {
  if (typeof mask === "number" || (typeof mask === "string" && /^\d{1,2}$/.test(mask.trim()))) {
    const bits = Number(mask)
    return bits <= 32 ? bits : undefined
  }
  const n = quad(mask)
  if (n === undefined) return undefined
  const bits = n.toString(2).padStart(32, "0")
  return /^1*0*$/.test(bits) ? (bits.indexOf("0") < 0 ? 32 : bits.indexOf("0")) : undefined
}

/** `NETWORK/BITS` of an IPv4 address and its netmask (dotted or a prefix length) */
export const ipv4Network = (ip: unknown, mask: unknown): string | undefined => {
  const a = quad(ip)
  const bits = ipv4Bits(mask)
  if (a === undefined || bits === undefined) return undefined
  const net = bits === 0 ? 0 : Math.floor(a / 2 ** (32 - bits)) * 2 ** (32 - bits)
  return `${[24, 16, 8, 0].map((s) => Math.floor(net / 2 ** s) % 256).join(".")}/${bits}`
}

/** the eight groups of an IPv6 address; undefined for anything else */
const groups = (s: string): Array<number> | undefined => {
  const text = s.trim().toLowerCase()
  if (!/^[0-9a-f:]+$/.test(text) || text.split("::").length > 2) return undefined
  const [head, tail] = text.includes("::") ? text.split("::") : [text, undefined]
  const parse = (part: string | undefined) => (part === undefined || part === "" ? [] : part.split(":"))
  const left = parse(head)
  const right = parse(tail)
  const missing = 8 - left.length - right.length
  if (missing < 0 || (tail === undefined && missing !== 0) || (tail !== undefined && missing < 1)) return undefined
  const all = [...left, ...Array<string>(tail === undefined ? 0 : missing).fill("0"), ...right]
  return all.every((g) => /^[0-9a-f]{1,4}$/.test(g)) ? all.map((g) => parseInt(g, 16)) : undefined
}

/** the shortest spelling (RFC 5952): lower case, the longest run of zero groups as `::` */
const ipv6Text = (g: ReadonlyArray<number>): string => {
  let best = { at: -1, length: 0 }
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++
      continue
    }
    let j = i
    while (j < 8 && g[j] === 0) j++
    if (j - i > best.length && j - i > 1) best = { at: i, length: j - i }
    i = j
  }
  const hex = g.map((n) => n.toString(16))
  if (best.at < 0) return hex.join(":")
  return `${hex.slice(0, best.at).join(":")}::${hex.slice(best.at + best.length).join(":")}`
}

/** the prefix length of an IPv6 mask given as bits ("64") or as an address ("ffff:ffff:ffff:ffff::") */
const ipv6Bits = (mask: unknown): number | undefined => {
  if (typeof mask === "number" || (typeof mask === "string" && /^\d{1,3}$/.test(mask.trim()))) {
    const bits = Number(mask)
    return bits <= 128 ? bits : undefined
  }
  const g = typeof mask === "string" ? groups(mask) : undefined
  if (g === undefined) return undefined
  const bits = g.map((n) => n.toString(2).padStart(16, "0")).join("")
  return /^1*0*$/.test(bits) ? (bits.indexOf("0") < 0 ? 128 : bits.indexOf("0")) : undefined
}

/** `NETWORK/BITS` of an IPv6 address and its prefix (bits or a mask); an address written `ADDR/BITS` brings its own */
export const ipv6Network = (address: unknown, prefix?: unknown): string | undefined => {
  if (typeof address !== "string") return undefined
  const [addr, own] = address.split("/")
  const g = groups(addr ?? "")
  const bits = ipv6Bits(own ?? prefix)
  if (g === undefined || bits === undefined) return undefined
  const masked = g.map((n, i) => {
    const keep = Math.max(0, Math.min(16, bits - i * 16))
    return keep === 0 ? 0 : n & (0xffff << (16 - keep)) & 0xffff
  })
  return `${ipv6Text(masked)}/${bits}`
}
