import type { Kysely, Transaction } from "kysely";
import type { Database } from "../../../db/database.ts";
import { deleteUserPasskeys } from "../../../db/passkeys.ts";
import { deleteRecoveryCodes } from "../../../db/recovery-codes.ts";
import { deleteTotp } from "../../../db/totp-factors.ts";
import type { TAuthenticationResponse } from "../passkeys/response-schema.ts";
import { checkPasskeyAssertion, describePasskeys } from "./passkey-factor.ts";
import { checkRecoveryCode, describeRecoveryCodes } from "./recovery-factor.ts";
import { checkTotpCode, describeTotp, type FactorContext } from "./totp-factor.ts";

/**
 * Every kind of second factor, in one map: what sign-in's second step, step-up and the admin
 * view dispatch through. A new kind (passkeys) adds its entry here, its proof to FactorProofs,
 * and its name to FACTOR_KINDS.
 */
export const FACTOR_KINDS = ["totp", "passkey", "recovery_code"] as const;
export type FactorKind = (typeof FACTOR_KINDS)[number];

/** What a proof of each kind carries besides its `factor` (its kind). */
export type FactorProofs = {
  totp: { code: string };
  recovery_code: { code: string };
  /** An assertion answering createPasskeyAssertionOptions(…, userId). */
  passkey: { webauthn: TAuthenticationResponse };
};
export type FactorProof = { [K in FactorKind]: { factor: K } & FactorProofs[K] }[FactorKind];

/** One registered factor as its owner and admins see it: never a secret. */
export type FactorDescription = {
  kind: FactorKind;
  createdAt: Date;
  lastUsedAt: Date | null;
  /** Recovery codes: how many are left. */
  remaining?: number;
  /** Passkeys: the name its owner gave it. */
  name?: string;
};

type SecondFactor<P> = {
  /**
   * Whether having it means "has a second factor" (sign-in asks for one). Recovery codes only
   * back another factor up: alone they ask for nothing.
   */
  primary: boolean;
  /** The user's usable factors of this kind. */
  describe: (db: Kysely<Database>, userId: number) => Promise<Omit<FactorDescription, "kind">[]>;
  /** Checks the proof and spends what it spends (a time step, a code) atomically: true once. */
  verify: (ctx: FactorContext, userId: number, proof: P) => Promise<boolean>;
  /** Forgets every factor of this kind of the user (in the caller's transaction). */
  removeAll: (db: Kysely<Database>, userId: number) => Promise<unknown>;
};

export const SECOND_FACTORS: { [K in FactorKind]: SecondFactor<FactorProofs[K]> } = {
  totp: {
    primary: true,
    describe: describeTotp,
    verify: (ctx, userId, proof) => checkTotpCode(ctx, userId, proof.code),
    removeAll: deleteTotp,
  },
  passkey: {
    primary: true,
    describe: describePasskeys,
    verify: (ctx, userId, proof) => checkPasskeyAssertion(ctx, userId, proof.webauthn),
    removeAll: deleteUserPasskeys,
  },
  recovery_code: {
    primary: false,
    describe: describeRecoveryCodes,
    verify: (ctx, userId, proof) => checkRecoveryCode(ctx, userId, proof.code),
    removeAll: deleteRecoveryCodes,
  },
};

/** Every usable factor of the user, of every kind. */
export async function describeFactors(
  db: Kysely<Database>,
  userId: number,
): Promise<FactorDescription[]> {
  const perKind = await Promise.all(
    FACTOR_KINDS.map(async (kind) =>
      (await SECOND_FACTORS[kind].describe(db, userId)).map((factor) => ({ kind, ...factor })),
    ),
  );
  return perKind.flat();
}

/**
 * The kinds of factor the user can prove themselves with, or [] when they have no second factor
 * (recovery codes count only beside a primary kind): what decides whether sign-in asks for one.
 */
export async function listFactorKinds(db: Kysely<Database>, userId: number): Promise<FactorKind[]> {
  const kinds = [...new Set((await describeFactors(db, userId)).map((factor) => factor.kind))];
  return kinds.some((kind) => SECOND_FACTORS[kind].primary) ? kinds : [];
}

/** Dispatches a proof to its kind's check; true once per proof. */
export async function verifySecondFactor(
  ctx: FactorContext,
  userId: number,
  proof: FactorProof,
): Promise<boolean> {
  const factor = SECOND_FACTORS[proof.factor] as SecondFactor<FactorProof>;
  return factor.verify(ctx, userId, proof);
}

/** Forgets every second factor of the user, of every kind (an admin's reset). */
export async function removeAllFactors(tx: Transaction<Database>, userId: number): Promise<void> {
  for (const kind of FACTOR_KINDS) await SECOND_FACTORS[kind].removeAll(tx, userId);
}

/**
 * Removes one kind of the user's factors; when no primary kind is left, the recovery codes go
 * too (they back up a factor that is gone). False when the user had none of that kind.
 */
export async function removeFactorKind(
  tx: Transaction<Database>,
  userId: number,
  kind: FactorKind,
): Promise<boolean> {
  const had = (await SECOND_FACTORS[kind].describe(tx, userId)).length > 0;
  await SECOND_FACTORS[kind].removeAll(tx, userId);
  await dropOrphanedBackups(tx, userId);
  return had;
}

/**
 * After a factor went (a TOTP, the last passkey): when no primary kind is left, the recovery
 * codes go too, for they back up a factor that is gone.
 */
export async function dropOrphanedBackups(
  tx: Transaction<Database>,
  userId: number,
): Promise<void> {
  if ((await listFactorKinds(tx, userId)).length === 0) await removeAllFactors(tx, userId);
}
