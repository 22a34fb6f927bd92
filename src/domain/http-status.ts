/**
 * HTTP answers worth asking again: a server error (5xx: a status past 599 is
 * no class HTTP has, an answer like any other that is not 2xx), and the two a
 * metadata service gives while it is not ready or is throttling (Azure's
 * answers 410 early in a boot; Azure's and Scaleway's answer 429 when asked
 * too fast).
 */
export const isTransientStatus = (status: number) => (status >= 500 && status <= 599) || status === 429 || status === 410

/** answers that send the client elsewhere, to their `Location` (300, 304 and 305 do not: no document there to fetch) */
export const isRedirectStatus = (status: number) => status === 301 || status === 302 || status === 303 || status === 307 || status === 308
