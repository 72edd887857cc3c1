import { type Kysely, sql } from "kysely";
import type { Database, WebauthnPurpose } from "./database.ts";

export type ChallengeBinding = {
  purpose: WebauthnPurpose;
  /** The user a registration or second-factor ceremony is for; null for a discoverable sign-in. */
  userId: number | null;
};

/** Stores a challenge's hash for `ttlSeconds`, and clears expired ones on the way. */
export async function storeChallenge(
  db: Kysely<Database>,
  challenge: ChallengeBinding & { hash: string; userHandle?: string; ttlSeconds: number },
): Promise<void> {
  await db.deleteFrom("webauthn_challenges").where("expires_at", "<=", sql<Date>`now()`).execute();
  // A user's ceremony of one kind replaces the previous one: at most one row each.
  if (challenge.userId !== null) {
    await db
      .deleteFrom("webauthn_challenges")
      .where("user_id", "=", challenge.userId)
      .where("purpose", "=", challenge.purpose)
      .execute();
  }
  await db
    .insertInto("webauthn_challenges")
    .values({
      challenge_hash: challenge.hash,
      purpose: challenge.purpose,
      user_id: challenge.userId,
      user_handle: challenge.userHandle ?? null,
      expires_at: sql<Date>`now() + make_interval(secs => ${challenge.ttlSeconds})`,
    })
    .execute();
}

/**
 * Takes a challenge once: deletes it and answers whether it was live and bound as asked (with
 * the user handle a registration named). Of concurrent takers only one gets it.
 */
export async function takeChallenge(
  db: Kysely<Database>,
  hash: string,
  binding: ChallengeBinding,
): Promise<{ userHandle: string | null } | undefined> {
  const row = await db
    .deleteFrom("webauthn_challenges")
    .where("challenge_hash", "=", hash)
    .returning(["purpose", "user_id", "user_handle", sql<boolean>`expires_at > now()`.as("live")])
    .executeTakeFirst();
  if (!row?.live || row.purpose !== binding.purpose || row.user_id !== binding.userId) {
    return undefined;
  }
  return { userHandle: row.user_handle };
}
