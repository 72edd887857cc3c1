import type { PublicKeyCredentialRequestOptionsJSON } from "@simplewebauthn/server";
import {
  createChallenge,
  findLiveChallenge,
  reserveChallengeAttempt,
  spendChallenge,
} from "../../../db/second-factor-challenges.ts";
import { findUserById, type UserRow } from "../../../db/users.ts";
import type { Context } from "../../context.ts";
import { AppError } from "../../errors/api-errors.ts";
import { mayAuthenticate } from "../authenticate.ts";
import { hashToken, randomToken } from "../opaque-tokens.ts";
import { createPasskeyAssertionOptions } from "../passkeys/assertion.ts";
import { invalidSecondFactor, proveSecondFactor } from "./prove.ts";
import { type FactorKind, type FactorProof, listFactorKinds } from "./registry.ts";

/** Wrong proofs one challenge takes before it is spent (the login lock counts them too). */
const MAX_ATTEMPTS = 5;

export type SignInChallenge = {
  secondFactorRequired: true;
  challenge: string;
  factors: FactorKind[];
  expiresIn: number;
};

/**
 * The first step's answer for a user with a second factor: a random, single-use challenge (only
 * its hash is stored) that stands for "this password was right" for SECOND_FACTOR_CHALLENGE_SECONDS.
 * It is no token: nothing but the second step accepts it.
 */
export async function issueSignInChallenge(
  ctx: Context,
  userId: number,
  factors: FactorKind[],
): Promise<SignInChallenge> {
  const challenge = randomToken();
  const ttlSeconds = ctx.config.SECOND_FACTOR_CHALLENGE_SECONDS;
  await createChallenge(ctx.db, { userId, tokenHash: hashToken(challenge), ttlSeconds });
  return { secondFactorRequired: true, challenge, factors, expiresIn: ttlSeconds };
}

const invalidChallenge = () =>
  new AppError(
    "INVALID_CREDENTIALS",
    "The sign-in challenge is unknown, expired or used up: sign in again with your password",
  );

/**
 * The second step: the challenge (at most MAX_ATTEMPTS tries, reserved atomically) and a proof
 * of one of the user's factors. Returns the user once, for the caller to start the session: two
 * right answers at once still start one session (the challenge is spent once).
 */
export async function completeSignInChallenge(
  ctx: Context,
  challenge: string,
  proof: FactorProof,
): Promise<UserRow> {
  const reserved = await reserveChallengeAttempt(ctx.db, hashToken(challenge), MAX_ATTEMPTS);
  if (!reserved) throw invalidChallenge();
  const user = await findUserById(ctx.db, reserved.user_id);
  if (!user || !mayAuthenticate(user.status)) throw invalidChallenge();
  await proveSecondFactor(ctx, user, proof);
  if (!(await spendChallenge(ctx.db, reserved.id))) throw invalidSecondFactor();
  return user;
}

/**
 * The challenge's answer with a passkey, first half: WebAuthn options for the challenge's user,
 * allowing only their passkeys, whose own single-use challenge is bound to that user (the
 * second step checks the assertion against it). The sign-in challenge is not spent. Refused
 * like an unknown challenge when it is not live or its user has no passkey.
 */
export async function passkeyOptionsForChallenge(
  ctx: Context,
  challenge: string,
): Promise<PublicKeyCredentialRequestOptionsJSON> {
  const live = await findLiveChallenge(ctx.db, hashToken(challenge), MAX_ATTEMPTS);
  if (!live || !(await listFactorKinds(ctx.db, live.user_id)).includes("passkey")) {
    throw invalidChallenge();
  }
  return createPasskeyAssertionOptions(ctx.db, ctx.config, live.user_id);
}
