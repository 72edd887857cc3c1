import { type Kysely, sql } from "kysely";
import type { Database } from "./database.ts";

/** Replaces the user's recovery codes (used or not) with these hashes. */
export async function replaceRecoveryCodes(
  db: Kysely<Database>,
  userId: number,
  codeHashes: readonly string[],
): Promise<void> {
  await db.deleteFrom("recovery_codes").where("user_id", "=", userId).execute();
  await db
    .insertInto("recovery_codes")
    .values(codeHashes.map((code_hash) => ({ user_id: userId, code_hash })))
    .execute();
}

/** Spends one code: true once, for the first of any number of concurrent uses. */
export async function spendRecoveryCode(
  db: Kysely<Database>,
  userId: number,
  codeHash: string,
): Promise<boolean> {
  const result = await db
    .updateTable("recovery_codes")
    .set({ used_at: sql`now()` })
    .where("user_id", "=", userId)
    .where("code_hash", "=", codeHash)
    .where("used_at", "is", null)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** How many codes are left, when the set was made, and when one was last used. */
export async function recoveryCodeSummary(db: Kysely<Database>, userId: number) {
  const row = await db
    .selectFrom("recovery_codes")
    .select([
      sql<number>`count(*) filter (where used_at is null)::int`.as("remaining"),
      sql<Date | null>`min(created_at)`.as("created_at"),
      sql<Date | null>`max(used_at)`.as("last_used_at"),
    ])
    .where("user_id", "=", userId)
    .executeTakeFirstOrThrow();
  return row;
}

export const deleteRecoveryCodes = (db: Kysely<Database>, userId: number) =>
  db.deleteFrom("recovery_codes").where("user_id", "=", userId).execute();
