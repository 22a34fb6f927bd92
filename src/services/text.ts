const decoder = new TextDecoder()

/** bytes as UTF-8 text */
export const textOf = (bytes: Uint8Array): string => decoder.decode(bytes)
