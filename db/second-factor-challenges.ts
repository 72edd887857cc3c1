import { type Kysely, sql } from "kysely";
import type { Database } from "./database.ts";

/** Stores a challenge (by its token's hash), forgetting the user's long-expired ones. */
export async function createChallenge(
  db: Kysely<Database>,
  challenge: { userId: number; tokenHash: string; ttlSeconds: number },
): Promise<void> {
  await db
    .deleteFrom("second_factor_challenges")
    .where("user_id", "=", challenge.userId)
    .where("expires_at", "<", sql<Date>`now() - interval '1 hour'`)
    .execute();
  await db
    .insertInto("second_factor_challenges")
    .values({
      user_id: challenge.userId,
      token_hash: challenge.tokenHash,
      expires_at: sql`now() + make_interval(secs => ${challenge.ttlSeconds})`,
    })
    .execute();
}

/**
 * Reserves one attempt at a live, unused challenge, atomically (at most `maxAttempts`, however
 * many arrive at once); the challenge's user and id, or undefined when there is none to try.
 */
export async function reserveChallengeAttempt(
  db: Kysely<Database>,
  tokenHash: string,
  maxAttempts: number,
): Promise<{ id: number; user_id: number } | undefined> {
  return db
    .updateTable("second_factor_challenges")
    .set({ attempts: sql`attempts + 1` })
    .where("token_hash", "=", tokenHash)
    .where("used_at", "is", null)
    .where("expires_at", ">", sql<Date>`now()`)
    .where("attempts", "<", maxAttempts)
    .returning(["id", "user_id"])
    .executeTakeFirst();
}

/** Whose live, unused challenge this is (one with tries left), without spending anything. */
export async function findLiveChallenge(
  db: Kysely<Database>,
  tokenHash: string,
  maxAttempts: number,
): Promise<{ id: number; user_id: number } | undefined> {
  return db
    .selectFrom("second_factor_challenges")
    .select(["id", "user_id"])
    .where("token_hash", "=", tokenHash)
    .where("used_at", "is", null)
    .where("expires_at", ">", sql<Date>`now()`)
    .where("attempts", "<", maxAttempts)
    .executeTakeFirst();
}

/** Spends the challenge: true for exactly one caller. */
export async function spendChallenge(db: Kysely<Database>, id: number): Promise<boolean> {
  const result = await db
    .updateTable("second_factor_challenges")
    .set({ used_at: sql`now()` })
    .where("id", "=", id)
    .where("used_at", "is", null)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

export const deleteChallenges = (db: Kysely<Database>, userId: number) =>
  db.deleteFrom("second_factor_challenges").where("user_id", "=", userId).execute();
