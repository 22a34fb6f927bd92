/**
 * A user-data script as cloud-init runs it: a leading byte-order mark left
 * out, and when its first line ends in CR LF (a file saved on Windows, or
 * sent as MIME), every CR LF made LF, so that its `#!` names the interpreter
 * and its lines run as written. A script that runs as it is, binary payload
 * and all, stays byte for byte.
 */
const BOM = [0xef, 0xbb, 0xbf]

export const runnableScript = (bytes: Uint8Array): Uint8Array => {
  const body = BOM.every((b, i) => bytes[i] === b) ? bytes.subarray(BOM.length) : bytes
  const firstEnd = body.indexOf(0x0a)
  if (firstEnd < 1 || body[firstEnd - 1] !== 0x0d) return body
  const out = new Uint8Array(body.length)
  let n = 0
  for (let i = 0; i < body.length; i++) {
    if (body[i] === 0x0d && body[i + 1] === 0x0a) continue
    out[n++] = body[i]!
  }
  return out.subarray(0, n)
}
