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

/**
 * Takes back one hit (an attempt reserved with hitWindow that turned out not to count), never
 * below zero; atomic like hitWindow.
 */
export const unhitWindow = (db: Kysely<Database>, key: string) =>
  db
    .updateTable("rate_limits")
    .set({ count: sql`rate_limits.count - 1` })
    .where("key", "=", key)
    .where("count", ">", 0)
    .execute();

export const clearWindow = (db: Kysely<Database>, key: string) =>
  db.deleteFrom("rate_limits").where("key", "=", key).execute();

/** Drops windows older than a day; the counters table stays small. */
export const pruneWindows = (db: Kysely<Database>) =>
  db
    .deleteFrom("rate_limits")
    .where("window_start", "<", sql<Date>`now() - interval '1 day'`)
    .execute();
