/**
 * A table's entry for a key that comes from input (a command line, the
 * configuration, metadata): its own entries only, never what every object
 * inherits (`constructor`, `toString`, `__proto__`).
 */
export const ownEntry = <V>(table: Readonly<Record<string, V>>, key: string): V | undefined => (Object.hasOwn(table, key) ? table[key] : undefined)
