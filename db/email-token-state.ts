import { type Kysely, sql, type Transaction } from "kysely";
import type { Database, EmailTokenKind } from "./database.ts";

type Db = Kysely<Database> | Transaction<Database>;

/**
 * A token of the kind, live or not, and what became of it, without spending or touching it: for
 * checks made before the token is spent (a new password against the policy, so a refused password
 * does not burn the link) and for telling a person whether their link still works. Expiry is
 * judged by the database's clock, as `spendEmailToken` judges it.
 */
export const findEmailToken = (db: Db, kind: EmailTokenKind, tokenHash: string) =>
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
export const discardEmailTokens = (db: Db, userId: number, kinds: EmailTokenKind[]) =>
  db
    .deleteFrom("email_tokens")
    .where("user_id", "=", userId)
    .where("kind", "in", kinds)
    .where("used_at", "is", null)
    .execute();
