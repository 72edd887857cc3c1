import type { Transaction } from "kysely";
import type { Database } from "../../db/database.ts";
import { recordUserEvent } from "../../db/events.ts";
import { softDeleteUser } from "../../db/users.ts";
import type { Caller } from "../auth/authenticate.ts";
import { cutOffAccess } from "../auth/sessions.ts";
import { audit } from "../permissions/audit.ts";

/**
 * Soft-deletes a user in the caller's transaction, the one way both an admin delete and a
 * person's own deletion do it: every session ends (each with its `session.revoked`), the audit
 * entry `auditAction` is written and `user.deleted` is emitted. The conditional update decides
 * who deletes: a user already deleted (by a concurrent request too) is left as it is and nothing
 * is written; returns whether this call deleted it.
 */
export async function deleteAccount(
  tx: Transaction<Database>,
  actor: Caller,
  userId: number,
  auditAction: "user.delete" | "user.delete.self",
): Promise<boolean> {
  if (!(await softDeleteUser(tx, userId))) return false;
  await cutOffAccess(tx, userId);
  await audit({ db: tx, user: actor }, auditAction, { userId });
  await recordUserEvent(tx, "user.deleted", userId);
  return true;
}
