import { type Expression, type ExpressionBuilder, type Kysely, type SqlBool, sql } from "kysely";
import type { Database } from "./database.ts";

/**
 * Organizations a user can reach: those they are a member of and every one below them.
 * `union` (not `union all`) ends the recursion even if the tree ever had a cycle.
 */
const accessibleOrganizationIds = (userId: number) => sql`
  with recursive accessible(id) as (
    select organization_id from memberships where user_id = ${userId}
    union
    select o.id from organizations o join accessible a on o.parent_id = a.id
  )
  select id from accessible`;

/**
 * Users a plain `User` may see: self, and members of organizations accessible to them; never
 * soft-deleted users (the caller, being authenticated, is not deleted). The visible ids are
 * computed once as an array, so `id = any(…)` probes the primary key: the cost follows the
 * number of visible users, not the size of the table.
 */
export const visibleToUser =
  (callerId: number) =>
  (eb: ExpressionBuilder<Database, "users">): Expression<SqlBool> =>
    eb.and([
      eb("users.deleted_at", "is", null),
      sql<SqlBool>`users.id = any(array(
        select m.user_id from memberships m
        where m.organization_id in (${accessibleOrganizationIds(callerId)})
        union select ${callerId}::int
      ))`,
    ]);

export async function isVisibleToUser(
  db: Kysely<Database>,
  callerId: number,
  targetId: number,
): Promise<boolean> {
  const row = await db
    .selectFrom("users")
    .select("users.id")
    .where("users.id", "=", targetId)
    .where(visibleToUser(callerId))
    .executeTakeFirst();
  return row !== undefined;
}
