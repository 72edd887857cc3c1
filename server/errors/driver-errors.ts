/**
 * Whether an error means the database is unreachable, overloaded or too slow right now (the
 * request may succeed later: 503), as opposed to a bug (500). Walks the `cause` chain because
 * tRPC and Kysely wrap driver errors.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let current = error, depth = 0; current && depth < 8; depth++) {
    if (typeof current !== "object") return false;
    const { code, message } = current as { code?: unknown; message?: unknown };
    if (typeof code === "string" && UNAVAILABLE_CODES.test(code)) return true;
    if (typeof message === "string" && UNAVAILABLE_MESSAGES.test(message)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

// Socket errors; SQLSTATE class 08 (connection exception), 53300 (too many connections),
// 57014 (statement timeout), 57P01-57P03 (server shutting down or starting).
const UNAVAILABLE_CODES =
  /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND|EAI_AGAIN|08\w{3}|53300|57014|57P0[123])$/;
const UNAVAILABLE_MESSAGES =
  /timeout exceeded when trying to connect|Connection terminated|connection timeout|Client has encountered a connection error|Cannot use a pool after calling end|Query read timeout/i;

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
