/** The constraint a PostgreSQL unique violation (23505) names, from pg or PGlite alike. */
export function uniqueViolation(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const { code, constraint } = error as { code?: unknown; constraint?: unknown };
  return code === "23505" && typeof constraint === "string" ? constraint : undefined;
}

/**
 * Whether the error is (or wraps: tRPC and Kysely wrap driver errors) a PostgreSQL foreign-key
 * violation (23503), from pg or PGlite alike: a write that referenced a row a concurrent
 * transaction removed. Writes lock the rows they depend on, so this is the last line: the error
 * mapping answers it as a state conflict, not a fault.
 */
export function isForeignKeyViolation(error: unknown): boolean {
  for (let current = error, depth = 0; current && depth < 8; depth++) {
    if (typeof current !== "object") return false;
    if ((current as { code?: unknown }).code === "23503") return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}
