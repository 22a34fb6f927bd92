/** cloud-init's `is_true`/`is_false` for values written as strings ("yes", "off", 1...); undefined for anything else */
export const truthOf = (value: unknown): boolean | undefined => {
  if (typeof value === "boolean") return value
  if (value === 1 || value === 0) return value === 1
  if (typeof value !== "string") return undefined
  const word = value.trim().toLowerCase()
  if (["true", "1", "on", "yes"].includes(word)) return true
  if (["false", "0", "off", "no"].includes(word)) return false
  return undefined
}
