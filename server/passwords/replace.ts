import type { Kysely, Transaction } from "kysely";
import type { Database, UserStatus } from "../../db/database.ts";
import { recordUserEvent } from "../../db/events.ts";
import { updateUser } from "../../db/users.ts";
import { cutOffAccess } from "../auth/sessions.ts";

type PasswordOptions = { keepSessionId?: number; status?: UserStatus; emailVerified?: boolean };

/**
 * Stores a new password hash and ends every access token issued before now and every session
 * except the one to keep, in the caller's transaction: a mail link is spent in the same one, so
 * a failure leaves both undone. Hash before the transaction (it is slow).
 */
export async function writePassword(
  tx: Transaction<Database>,
  userId: number,
  passwordHash: string,
  options: PasswordOptions = {},
): Promise<void> {
  await updateUser(tx, userId, {
    password_hash: passwordHash,
    status: options.status,
    email_verified: options.emailVerified,
  });
  await cutOffAccess(tx, userId, options.keepSessionId);
  await recordUserEvent(tx, "user.password_changed", userId);
}

/** `writePassword` in a transaction of its own. */
export const replacePassword = (
  db: Kysely<Database>,
  userId: number,
  passwordHash: string,
  options: PasswordOptions = {},
): Promise<void> =>
  db.transaction().execute((tx) => writePassword(tx, userId, passwordHash, options));
