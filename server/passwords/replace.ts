import type { Kysely } from "kysely";
import type { Database, UserStatus } from "../../db/database.ts";
import { updateUser } from "../../db/users.ts";
import { cutOffAccess } from "../auth/sessions.ts";

/**
 * Stores a new password hash and, in the same transaction, ends every access token issued
 * before now and every session except the one to keep.
 */
export async function replacePassword(
  db: Kysely<Database>,
  userId: number,
  passwordHash: string,
  options: { keepSessionId?: number; status?: UserStatus; emailVerified?: boolean } = {},
): Promise<void> {
  await db.transaction().execute(async (tx) => {
    await updateUser(tx, userId, {
      password_hash: passwordHash,
      status: options.status,
      email_verified: options.emailVerified,
    });
    await cutOffAccess(tx, userId, options.keepSessionId);
  });
}
