/**
 * HTTP answers worth asking again: a server error, and the two a metadata
 * service gives while it is not ready or is throttling (Azure's answers 410
 * early in a boot; Azure's and Scaleway's answer 429 when asked too fast).
 */
export const isTransientStatus = (status: number) => status >= 500 || status === 429 || status === 410
