import type { Context } from "../../context.ts";
import { AppError } from "../../errors/api-errors.ts";
import { guardLogin } from "../login-guard.ts";
import { type FactorProof, listFactorKinds, verifySecondFactor } from "./registry.ts";

export const invalidSecondFactor = () =>
  new AppError("INVALID_SECOND_FACTOR", "The code is incorrect, expired or already used");

/**
 * The one check of a second factor (sign-in's second step, step-up): it spends the login
 * guard's budget exactly like a password does (the per-address request limit, then one attempt
 * against the account reserved before the proof is checked), so guessing codes brings the same
 * lock as guessing passwords, per account and per address. A locked attempt answers as a wrong
 * code. Only kinds the user has are checked.
 */
export async function proveSecondFactor(
  ctx: Context,
  user: { id: number; email: string },
  proof: FactorProof,
): Promise<void> {
  const attempt = await guardLogin(ctx, user.email);
  const kinds = await listFactorKinds(ctx.db, user.id);
  const right =
    !attempt.locked &&
    kinds.includes(proof.factor) &&
    (await verifySecondFactor(ctx, user.id, proof));
  if (!right) {
    await attempt.failed();
    throw invalidSecondFactor();
  }
  await attempt.succeeded();
}
