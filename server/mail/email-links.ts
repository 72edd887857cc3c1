import type { Kysely, Transaction } from "kysely";
import type { Database, EmailTokenKind, UserStatus } from "../../db/database.ts";
import { findLiveEmailToken, spendEmailToken } from "../../db/email-tokens.ts";
import { enqueueMail } from "../../db/mail-outbox.ts";
import { findUserById, type UserRow } from "../../db/users.ts";
import { hashToken } from "../auth/opaque-tokens.ts";
import type { Config } from "../config.ts";
import { AppError } from "../errors/api-errors.ts";
import { maskEmail, type TEmailChangedPayload } from "./templates.ts";

/**
 * The one answer for an emailed link that cannot be used: unknown, already used, replaced by a
 * newer one, expired, or meant for an account that can no longer use it. One code and message
 * for all, so the answer reveals nothing about which.
 */
export const invalidLink = () => new AppError("CONFLICT", "This link is invalid, used or expired");

/**
 * The user a live token belongs to, checked before the token is spent (so a refused password
 * does not burn the link). Throws `invalidLink()` unless the user's status is one of `statuses`.
 */
export async function findLinkUser(
  db: Kysely<Database>,
  kind: EmailTokenKind,
  token: string,
  statuses: readonly UserStatus[],
): Promise<UserRow> {
  const live = await findLiveEmailToken(db, kind, hashToken(token));
  const user = live && (await findUserById(db, live.user_id));
  if (!user || !statuses.includes(user.status)) throw invalidLink();
  return user;
}

/**
 * Spends the token (once, even when two requests race) and re-reads its user, who must still be
 * in one of `statuses`. Throws `invalidLink()` otherwise. Call it in the transaction that acts on
 * the link, so a failure there leaves the link unspent.
 */
export async function spendLinkToken(
  db: Kysely<Database>,
  kind: EmailTokenKind,
  token: string,
  statuses: readonly UserStatus[],
): Promise<UserRow> {
  const spent = await spendEmailToken(db, kind, hashToken(token));
  const user = spent && (await findUserById(db, spent.user_id));
  if (!user || !statuses.includes(user.status)) throw invalidLink();
  return user;
}

/** Queues the notice to the old address after an email change (no token, the new one masked). */
export async function queueEmailChangedNotice(
  tx: Transaction<Database>,
  config: Pick<Config, "PUBLIC_URL">,
  change: { user: Pick<UserRow, "id" | "first_name">; oldEmail: string; newEmail: string },
): Promise<void> {
  const payload: TEmailChangedPayload = {
    firstName: change.user.first_name,
    newEmailHint: maskEmail(change.newEmail),
  };
  await enqueueMail(
    tx,
    { userId: change.user.id, kind: "email_changed_notice", recipient: change.oldEmail, payload },
    new URL(config.PUBLIC_URL).hostname,
  );
}
