import type { Kysely } from "kysely";
import type { Database } from "../../../db/database.ts";
import { listPasskeys } from "../../../db/passkeys.ts";
import { verifyPasskeyAssertion } from "../passkeys/assertion.ts";
import type { TAuthenticationResponse } from "../passkeys/response-schema.ts";
import type { FactorContext } from "./totp-factor.ts";

/** Each of the user's passkeys, described as a factor (its name; never its key). */
export async function describePasskeys(db: Kysely<Database>, userId: number) {
  return (await listPasskeys(db, userId)).map((row) => ({
    name: row.name,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
  }));
}

/**
 * Checks a WebAuthn assertion by one of the user's passkeys against the challenge of
 * createPasskeyAssertionOptions(…, userId) (taken once, the counter moved forward): true once.
 */
export async function checkPasskeyAssertion(
  ctx: FactorContext,
  userId: number,
  response: TAuthenticationResponse,
): Promise<boolean> {
  return verifyPasskeyAssertion(ctx.db, ctx.config, { userId, response }).then(
    () => true,
    () => false,
  );
}
