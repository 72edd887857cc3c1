import type { Kysely } from "kysely";
import type { Database } from "../../../db/database.ts";
import { findTotp, putPendingTotp, spendTotpStep } from "../../../db/totp-factors.ts";
import type { Context } from "../../context.ts";
import { open, seal } from "./secret-box.ts";
import { matchingStep, newTotpSecret, otpauthUri } from "./totp.ts";

export type FactorContext = Pick<Context, "db" | "tokens" | "config">;

const boxContext = (userId: number) => `totp:${userId}`;

/**
 * Starts (or restarts) a TOTP enrolment: a new secret, stored encrypted and pending until a first
 * code confirms it. The secret and its URI are returned this once and never again; undefined when
 * the user already has a confirmed TOTP factor.
 */
export async function startTotpEnrolment(
  ctx: FactorContext,
  user: { id: number; email: string },
): Promise<{ secret: string; otpauthUri: string } | undefined> {
  const secret = newTotpSecret();
  const sealed = seal(ctx.tokens.factorKey, boxContext(user.id), secret);
  if (!(await putPendingTotp(ctx.db, user.id, sealed))) return undefined;
  const uri = otpauthUri(secret, ctx.config.JWT_ISSUER, user.email);
  return { secret: new URL(uri).searchParams.get("secret") as string, otpauthUri: uri };
}

/**
 * Checks a code against the user's TOTP secret and spends its time step atomically: true once
 * per step (a replay, even a concurrent one in another process, is refused). `confirming` checks
 * the pending enrolment's first code instead of a confirmed factor.
 */
export async function checkTotpCode(
  ctx: FactorContext,
  userId: number,
  code: string,
  confirming = false,
): Promise<boolean> {
  const row = await findTotp(ctx.db, userId);
  if (!row || (row.confirmed_at === null) !== confirming) return false;
  const secret = open(ctx.tokens.factorKey, boxContext(userId), row.secret_ciphertext);
  // A secret sealed under another key (the signing key was replaced) cannot be checked.
  if (!secret) return false;
  // Apps show "123 456": the space is not part of the code.
  const step = matchingStep(secret, code.replace(/\s/g, ""), Date.now());
  if (step === undefined) return false;
  return spendTotpStep(ctx.db, userId, step, confirming);
}

/** The confirmed TOTP factor, described for its owner and admins (never the secret). */
export async function describeTotp(db: Kysely<Database>, userId: number) {
  const row = await findTotp(db, userId);
  if (!row?.confirmed_at) return [];
  return [{ createdAt: row.confirmed_at, lastUsedAt: row.last_used_at }];
}
