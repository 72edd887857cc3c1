import { type Kysely, type Selectable, sql, type Transaction } from "kysely";
import type { Database, MembershipRole, OrganizationsTable } from "./database.ts";

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

/** Every column an organization has: the listing and the API show them all. */
const ORGANIZATION_COLUMNS = ["id", "name", "parent_id", "created_at", "updated_at"] as const;
export type OrganizationRow = Pick<
  Selectable<OrganizationsTable>,
  (typeof ORGANIZATION_COLUMNS)[number]
>;

export const findOrganization = (db: Kysely<Database>, id: number) =>
  db
    .selectFrom("organizations")
    .select(ORGANIZATION_COLUMNS)
    .where("id", "=", id)
    .executeTakeFirst();

/**
 * Reads the organization and locks it until the transaction ends: `forDelete` (FOR UPDATE) for
 * deleting it, otherwise FOR KEY SHARE for a write that needs it to keep existing (a member, a
 * child). The two conflict, so a delete and such a write never both proceed: whichever locks
 * second waits, then sees the other's outcome (the row gone, or the organization not empty).
 */
export const lockOrganization = (
  tx: Transaction<Database>,
  id: number,
  mode: "forDelete" | "forReference",
) =>
  tx
    .selectFrom("organizations")
    .select(ORGANIZATION_COLUMNS)
    .where("id", "=", id)
    .$if(mode === "forDelete", (qb) => qb.forUpdate())
    .$if(mode === "forReference", (qb) => qb.forKeyShare())
    .executeTakeFirst();

export const insertOrganization = (
  db: Kysely<Database>,
  org: { name: string; parentId: number | null },
) =>
  db
    .insertInto("organizations")
    .values({ name: org.name, parent_id: org.parentId })
    .returning(ORGANIZATION_COLUMNS)
    .executeTakeFirstOrThrow();

export const updateOrganization = (
  db: Kysely<Database>,
  id: number,
  patch: { name?: string | undefined; parentId?: number | null | undefined },
) =>
  db
    .updateTable("organizations")
    .set({ name: patch.name, parent_id: patch.parentId, updated_at: sql`now()` })
    .where("id", "=", id)
    .returning(ORGANIZATION_COLUMNS)
    .executeTakeFirst();

/** Whether `candidateId` is `id` itself or lies above it: making it a child would close a cycle. */
export async function isSelfOrAncestor(
  db: Kysely<Database>,
  id: number,
  candidateId: number,
): Promise<boolean> {
  const { rows } = await sql<{ found: boolean }>`
    with recursive up(id, parent_id) as (
      select id, parent_id from organizations where id = ${candidateId}
      union
      select o.id, o.parent_id from organizations o join up on o.id = up.parent_id
    )
    select exists(select 1 from up where id = ${id}) as found`.execute(db);
  return rows[0]?.found ?? false;
}

/** Serialises changes of the tree's shape, so two concurrent moves cannot close a cycle. */
export const lockOrganizationTree = (db: Transaction<Database>) =>
  sql`select pg_advisory_xact_lock(7316001)`.execute(db);

export async function organizationHasDependants(
  db: Kysely<Database>,
  id: number,
): Promise<boolean> {
  const { rows } = await sql<{ found: boolean }>`
    select exists(select 1 from organizations where parent_id = ${id})
        or exists(select 1 from memberships where organization_id = ${id}) as found`.execute(db);
  return rows[0]?.found ?? false;
}

export const deleteOrganization = (db: Kysely<Database>, id: number) =>
  db.deleteFrom("organizations").where("id", "=", id).executeTakeFirst();

export async function listOrganizations(db: Kysely<Database>, page: { top: number; skip: number }) {
  const [rows, total] = await Promise.all([
    db
      .selectFrom("organizations")
      .select(ORGANIZATION_COLUMNS)
      .orderBy("id")
      .limit(page.top)
      .offset(page.skip)
      .execute(),
    db
      .selectFrom("organizations")
      .select(sql<number>`count(*)::int`.as("count"))
      .executeTakeFirstOrThrow(),
  ]);
  return { rows, count: total.count };
}

export const upsertMembership = (
  db: Kysely<Database>,
  membership: { userId: number; organizationId: number; role: MembershipRole },
) =>
  db
    .insertInto("memberships")
    .values({
      user_id: membership.userId,
      organization_id: membership.organizationId,
      role: membership.role,
    })
    .onConflict((oc) =>
      oc.columns(["user_id", "organization_id"]).doUpdateSet({ role: membership.role }),
    )
    // xmax is 0 on a row this statement inserted, the updating transaction's id on one it updated.
    .returning([
      "user_id",
      "organization_id",
      "role",
      "created_at",
      sql<boolean>`xmax = 0`.as("created"),
    ])
    .executeTakeFirstOrThrow();

export const deleteMembership = (db: Kysely<Database>, userId: number, organizationId: number) =>
  db
    .deleteFrom("memberships")
    .where("user_id", "=", userId)
    .where("organization_id", "=", organizationId)
    .executeTakeFirst();

export async function listMembers(
  db: Kysely<Database>,
  organizationId: number,
  page: { top: number; skip: number },
) {
  const [rows, total] = await Promise.all([
    db
      .selectFrom("memberships as m")
      .innerJoin("users as u", "u.id", "m.user_id")
      .select(["m.user_id", "m.role", "m.created_at", "u.email", "u.username", "u.status"])
      .where("m.organization_id", "=", organizationId)
      .orderBy("m.user_id")
      .limit(page.top)
      .offset(page.skip)
      .execute(),
    db
      .selectFrom("memberships")
      .select(sql<number>`count(*)::int`.as("count"))
      .where("organization_id", "=", organizationId)
      .executeTakeFirstOrThrow(),
  ]);
  return { rows, count: total.count };
}
