import { type Kysely, sql } from "kysely";
import type { Database, EmailTokenKind } from "./database.ts";

/**
 * The user a live (unused, unexpired) token belongs to, without spending it: for checks that
 * must pass before the token is spent (a new password against the policy), so a refused
 * password does not burn the link. Spend it with `spendEmailToken` afterwards.
 */
export const findLiveEmailToken = (db: Kysely<Database>, kind: EmailTokenKind, tokenHash: string) =>
  db
    .selectFrom("email_tokens")
    .select(["user_id", "new_email"])
    .where("token_hash", "=", tokenHash)
    .where("kind", "=", kind)
    .where("used_at", "is", null)
    .where("expires_at", ">", sql<Date>`now()`)
    .executeTakeFirst();

/**
 * Drops the user's unused tokens of these kinds: after an email change, links already mailed to
 * the old address (a password reset, say) must stop working.
 */
export const discardEmailTokens = (db: Kysely<Database>, userId: number, kinds: EmailTokenKind[]) =>
  db
    .deleteFrom("email_tokens")
    .where("user_id", "=", userId)
    .where("kind", "in", kinds)
    .where("used_at", "is", null)
    .execute();
