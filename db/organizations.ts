import { type Kysely, sql } from "kysely";
import type { Database, MembershipRole } from "./database.ts";

/**
 * Every organization the user is a member of or that lies below one, with the role of the
 * nearest membership on its path to the root, sorted by name. One recursive query.
 */
export async function accessibleOrganizations(db: Kysely<Database>, userId: number) {
  const { rows } = await sql<{ id: number; name: string; role: MembershipRole }>`
    with recursive reach(id, name, role, depth) as (
      select o.id, o.name, m.role, 0
      from memberships m join organizations o on o.id = m.organization_id
      where m.user_id = ${userId}
      union all
      select c.id, c.name, r.role, r.depth + 1
      from organizations c join reach r on c.parent_id = r.id
      where r.depth < 64
    )
    select id, name, role from (
      select distinct on (id) id, name, role from reach order by id, depth
    ) nearest
    order by name, id`.execute(db);
  return rows;
}
