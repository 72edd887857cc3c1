import type { Kysely } from "kysely";
import type { Database } from "../../../db/database.ts";
import {
  recoveryCodeSummary,
  replaceRecoveryCodes,
  spendRecoveryCode,
} from "../../../db/recovery-codes.ts";
import { hashRecoveryCode, newRecoveryCode, RECOVERY_CODE_COUNT } from "./recovery-codes.ts";
import type { FactorContext } from "./totp-factor.ts";

/** A new set of recovery codes, replacing the old; the codes are returned this once. */
export async function issueRecoveryCodes(
  ctx: Pick<FactorContext, "tokens">,
  db: Kysely<Database>,
  userId: number,
): Promise<string[]> {
  const codes = new Set<string>();
  while (codes.size < RECOVERY_CODE_COUNT) codes.add(newRecoveryCode());
  const hashes = [...codes].map((code) => hashRecoveryCode(ctx.tokens.factorKey, userId, code));
  await replaceRecoveryCodes(db, userId, hashes);
  return [...codes];
}

/** Spends a recovery code: true once, for the first of any number of concurrent uses. */
export const checkRecoveryCode = (ctx: FactorContext, userId: number, code: string) =>
  code.length > 64
    ? Promise.resolve(false)
    : spendRecoveryCode(ctx.db, userId, hashRecoveryCode(ctx.tokens.factorKey, userId, code));

/** The set, described: when it was made, the last use, how many remain (never the codes). */
export async function describeRecoveryCodes(db: Kysely<Database>, userId: number) {
  const summary = await recoveryCodeSummary(db, userId);
  if (!summary.created_at || summary.remaining === 0) return [];
  return [
    {
      createdAt: summary.created_at,
      lastUsedAt: summary.last_used_at,
      remaining: summary.remaining,
    },
  ];
}
