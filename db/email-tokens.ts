import { type Kysely, sql } from "kysely";
import type { Database, EmailTokenKind } from "./database.ts";

/** Replaces any earlier token of the kind: only the newest link works. */
export async function replaceEmailToken(
  db: Kysely<Database>,
  token: {
    userId: number;
    kind: EmailTokenKind;
    tokenHash: string;
    ttlSeconds: number;
    newEmail?: string;
  },
): Promise<void> {
  await db
    .deleteFrom("email_tokens")
    .where("user_id", "=", token.userId)
    .where("kind", "=", token.kind)
    .where("used_at", "is", null)
    .execute();
  await db
    .insertInto("email_tokens")
    .values({
      user_id: token.userId,
      kind: token.kind,
      token_hash: token.tokenHash,
      new_email: token.newEmail ?? null,
      expires_at: sql`now() + make_interval(secs => ${token.ttlSeconds})`,
    })
    .execute();
}

/**
 * Marks a live token used and returns it, in one statement, so a token can be spent once
 * even when two requests race with it.
 */
export const spendEmailToken = (db: Kysely<Database>, kind: EmailTokenKind, tokenHash: string) =>
  db
    .updateTable("email_tokens")
    .set({ used_at: sql`now()` })
    .where("token_hash", "=", tokenHash)
    .where("kind", "=", kind)
    .where("used_at", "is", null)
    .where("expires_at", ">", sql<Date>`now()`)
    .returning(["user_id", "new_email"])
    .executeTakeFirst();

/**
 * A token of the kind, live or not, and what became of it, without spending or touching it: for
 * checks made before the token is spent (a new password against the policy, so a refused password
 * does not burn the link) and for telling a person whether their link still works. Expiry is
 * judged by the database's clock, as `spendEmailToken` judges it.
 */
export const findEmailToken = (db: Kysely<Database>, kind: EmailTokenKind, tokenHash: string) =>
  db
    .selectFrom("email_tokens")
    .select([
      "user_id",
      sql<boolean>`used_at is not null`.as("used"),
      sql<boolean>`expires_at <= now()`.as("expired"),
    ])
    .where("token_hash", "=", tokenHash)
    .where("kind", "=", kind)
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
