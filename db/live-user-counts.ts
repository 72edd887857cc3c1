import { type Kysely, sql } from "kysely";
import type { Database, UserStatus } from "./database.ts";

/**
 * How many live (not soft-deleted) users there are, in the given statuses or in all: read from
 * the counters the triggers keep (migration live-user-counts), so the cost does not grow with the
 * table, and exact as of the caller's snapshot.
 */
export async function countLiveUsers(
  db: Kysely<Database>,
  statuses?: readonly UserStatus[],
): Promise<number> {
  let query = db
    .selectFrom("live_user_counts")
    .select(sql<number>`coalesce(sum(users), 0)::int`.as("count"));
  if (statuses) query = query.where("status", "in", statuses);
  const { count } = await query.executeTakeFirstOrThrow();
  return count;
}
