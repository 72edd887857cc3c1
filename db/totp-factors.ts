import { type Kysely, sql } from "kysely";
import type { Database } from "./database.ts";

/** Starts (or restarts) an enrolment: an unconfirmed secret; a confirmed one is never replaced. */
export async function putPendingTotp(
  db: Kysely<Database>,
  userId: number,
  secretCiphertext: string,
): Promise<boolean> {
  const row = await db
    .insertInto("totp_factors")
    .values({ user_id: userId, secret_ciphertext: secretCiphertext })
    .onConflict((oc) =>
      oc
        .column("user_id")
        .doUpdateSet({
          secret_ciphertext: secretCiphertext,
          created_at: sql`now()`,
          last_used_step: null,
          last_used_at: null,
        })
        .where("totp_factors.confirmed_at", "is", null),
    )
    .returning("user_id")
    .executeTakeFirst();
  return row !== undefined;
}

export const findTotp = (db: Kysely<Database>, userId: number) =>
  db
    .selectFrom("totp_factors")
    .select(["secret_ciphertext", "confirmed_at", "last_used_step", "last_used_at", "created_at"])
    .where("user_id", "=", userId)
    .executeTakeFirst();

/**
 * Spends a time step for the user, atomically: true only when the step is later than every step
 * used before (so a code, or an older one, never works twice, however many processes race), and
 * the factor is confirmed, or `confirming` and still pending (the enrolment's first code).
 */
export async function spendTotpStep(
  db: Kysely<Database>,
  userId: number,
  step: number,
  confirming: boolean,
): Promise<boolean> {
  const result = await db
    .updateTable("totp_factors")
    .set({
      last_used_step: step,
      last_used_at: sql`now()`,
      ...(confirming && { confirmed_at: sql`now()` }),
    })
    .where("user_id", "=", userId)
    .where("confirmed_at", confirming ? "is" : "is not", null)
    .where((eb) => eb.or([eb("last_used_step", "is", null), eb("last_used_step", "<", step)]))
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

export async function deleteTotp(db: Kysely<Database>, userId: number): Promise<boolean> {
  const result = await db
    .deleteFrom("totp_factors")
    .where("user_id", "=", userId)
    .executeTakeFirst();
  return result.numDeletedRows > 0n;
}
