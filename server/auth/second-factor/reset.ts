import type { Transaction } from "kysely";
import type { Database } from "../../../db/database.ts";
import { deleteChallenges } from "../../../db/second-factor-challenges.ts";
import { cutOffAccess } from "../sessions.ts";
import { describeFactors, type FactorKind, removeAllFactors } from "./registry.ts";

/**
 * An admin's reset of a user's second factors (a lost phone): every factor of every kind and any
 * sign-in challenge in flight go, and so does every session and access token of the user, in the
 * caller's transaction. The kinds the user had are returned (for the audit entry).
 */
export async function resetFactors(
  tx: Transaction<Database>,
  userId: number,
): Promise<FactorKind[]> {
  const kinds = [...new Set((await describeFactors(tx, userId)).map((factor) => factor.kind))];
  await removeAllFactors(tx, userId);
  await deleteChallenges(tx, userId);
  await cutOffAccess(tx, userId);
  return kinds;
}
