import { type Kysely, sql } from "kysely";
import type { Database } from "./database.ts";

export type AuditEntry = {
  /** Null for what the service does by itself (the webhook worker disabling an endpoint). */
  actorId: number | null;
  action: string;
  targetUserId?: number;
  targetOrganizationId?: number;
  /** Changed fields and their new values; callers never pass secrets. */
  changes?: Record<string, unknown>;
};

export const recordAudit = (db: Kysely<Database>, entry: AuditEntry) =>
  db
    .insertInto("audit_log")
    .values({
      actor_id: entry.actorId,
      action: entry.action,
      target_user_id: entry.targetUserId ?? null,
      target_organization_id: entry.targetOrganizationId ?? null,
      changes: entry.changes ? JSON.stringify(entry.changes) : null,
    })
    .execute();

const AUDIT_COLUMNS = [
  "id",
  "actor_id",
  "action",
  "target_user_id",
  "target_organization_id",
  "changes",
  "created_at",
] as const;

export async function listAudit(
  db: Kysely<Database>,
  query: {
    top: number;
    skip: number;
    targetUserId?: number | undefined;
    actorId?: number | undefined;
  },
) {
  let base = db.selectFrom("audit_log");
  if (query.targetUserId !== undefined)
    base = base.where("target_user_id", "=", query.targetUserId);
  if (query.actorId !== undefined) base = base.where("actor_id", "=", query.actorId);
  const [rows, total] = await Promise.all([
    base.select(AUDIT_COLUMNS).orderBy("id", "desc").limit(query.top).offset(query.skip).execute(),
    base.select(sql<number>`count(*)::int`.as("count")).executeTakeFirstOrThrow(),
  ]);
  return { rows, count: total.count };
}
