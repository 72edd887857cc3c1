import { type Kysely, sql } from "kysely";
import type { Database } from "./database.ts";

export type WindowCount = { count: number; resetInSeconds: number };

/**
 * Counts one hit in a fixed window, atomically (one statement), so concurrent requests and
 * several processes agree on the count.
 */
export async function hitWindow(
  db: Kysely<Database>,
  key: string,
  windowSeconds: number,
): Promise<WindowCount> {
  const expired = sql`rate_limits.window_start <= now() - make_interval(secs => ${windowSeconds})`;
  const row = await db
    .insertInto("rate_limits")
    .values({ key, count: 1, window_start: sql`now()` })
    .onConflict((oc) =>
      oc.column("key").doUpdateSet({
        count: sql`case when ${expired} then 1 else rate_limits.count + 1 end`,
        window_start: sql`case when ${expired} then now() else rate_limits.window_start end`,
      }),
    )
    .returning([
      "count",
      sql<number>`extract(epoch from window_start + make_interval(secs => ${windowSeconds}) - now())::float8`.as(
        "reset_in",
      ),
    ])
    .executeTakeFirstOrThrow();
  return { count: row.count, resetInSeconds: row.reset_in };
}

/** The count in the current window without adding to it (0 when none or expired). */
export async function peekWindow(
  db: Kysely<Database>,
  key: string,
  windowSeconds: number,
): Promise<number> {
  const row = await db
    .selectFrom("rate_limits")
    .select("count")
    .where("key", "=", key)
    .where("window_start", ">", sql<Date>`now() - make_interval(secs => ${windowSeconds})`)
    .executeTakeFirst();
  return row?.count ?? 0;
}

export const clearWindow = (db: Kysely<Database>, key: string) =>
  db.deleteFrom("rate_limits").where("key", "=", key).execute();

/** Drops windows older than a day; the counters table stays small. */
export const pruneWindows = (db: Kysely<Database>) =>
  db
    .deleteFrom("rate_limits")
    .where("window_start", "<", sql<Date>`now() - interval '1 day'`)
    .execute();
