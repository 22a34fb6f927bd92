/**
 * How long a session token may be used: a token asked for N seconds (the
 * request's `*-ttl-seconds` header, as AWS's IMDSv2 has it) is used for a
 * second less, or half its life when that is shorter; without such a header,
 * until it is refused.
 */
export const tokenLifetimeMs = (headers: Readonly<Record<string, string>> | undefined): number => {
  const ttl = Number(Object.entries(headers ?? {}).find(([name]) => /-ttl-seconds$/i.test(name))?.[1])
  return Number.isFinite(ttl) && ttl > 0 ? Math.max(ttl * 1000 - 1000, ttl * 500) : Infinity
}
