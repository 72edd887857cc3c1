import { type Kysely, sql } from "kysely";
import type { Database } from "./database.ts";

/** Rows of each kind a person's export holds at most (the newest first; `truncated` says so). */
export const PERSONAL_DATA_LIMIT = 1000;

/**
 * What the service holds about one user beside the profile (a person's export): every session
 * (ended ones too), direct memberships, the mail sent or queued to them (never the mail's
 * payload, which carries emailed tokens) and the audit entries about them or by them.
 */
export async function findPersonalData(db: Kysely<Database>, userId: number) {
  const limit = PERSONAL_DATA_LIMIT + 1;
  const [sessions, memberships, mail, audit] = await Promise.all([
    db
      .selectFrom("sessions")
      .select(["id", "user_agent", "ip", "created_at", "last_used_at", "expires_at", "revoked_at"])
      .where("user_id", "=", userId)
      .orderBy("id", "desc")
      .limit(limit)
      .execute(),
    db
      .selectFrom("memberships as m")
      .innerJoin("organizations as o", "o.id", "m.organization_id")
      .select(["m.organization_id", "o.name", "m.role", "m.created_at"])
      .where("m.user_id", "=", userId)
      .orderBy("m.organization_id")
      .limit(limit)
      .execute(),
    db
      .selectFrom("mail_outbox")
      .select(["id", "kind", "recipient", "status", "created_at", "sent_at"])
      .where("user_id", "=", userId)
      .orderBy("id", "desc")
      .limit(limit)
      .execute(),
    db
      .selectFrom("audit_log")
      .select(["id", "actor_id", "action", "target_user_id", "changes", "created_at"])
      .where((eb) => eb.or([eb("target_user_id", "=", userId), eb("actor_id", "=", userId)]))
      .orderBy("id", "desc")
      .limit(limit)
      .execute(),
  ]);
  return { sessions, memberships, mail, audit };
}

/**
 * Deletes for good up to `limit` users soft-deleted more than `afterDays` days ago, with what
 * hangs on them: sessions, tokens, memberships and the profile image go by cascade, their mail
 * here; audit entries stay with the user's id cleared. SKIP LOCKED: processes purging at once
 * take different users, and a user being restored right now is left for next time.
 */
export function purgeDeletedUsers(
  db: Kysely<Database>,
  afterDays: number,
  limit: number,
): Promise<number> {
  return db.transaction().execute(async (tx) => {
    const doomed = await tx
      .selectFrom("users")
      .select("id")
      .where("deleted_at", "is not", null)
      .where("deleted_at", "<", sql<Date>`now() - make_interval(days => ${afterDays})`)
      .orderBy("id")
      .limit(limit)
      .forUpdate()
      .skipLocked()
      .execute();
    const ids = doomed.map((row) => row.id);
    if (ids.length === 0) return 0;
    await tx.deleteFrom("mail_outbox").where("user_id", "in", ids).execute();
    await tx.deleteFrom("users").where("id", "in", ids).execute();
    return ids.length;
  });
}
