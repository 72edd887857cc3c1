import { randomBytes } from "node:crypto";
import {
  generateRegistrationOptions,
  type PublicKeyCredentialCreationOptionsJSON,
  type RegistrationResponseJSON,
  verifyRegistrationResponse,
} from "@simplewebauthn/server";
import type { Kysely } from "kysely";
import type { Database } from "../../../db/database.ts";
import {
  DUPLICATE_CREDENTIAL,
  findUserHandle,
  insertPasskey,
  type ListedPasskeyRow,
  passkeyDescriptors,
} from "../../../db/passkeys.ts";
import { uniqueViolation } from "../../../db/unique-violation.ts";
import type { Config } from "../../config.ts";
import { AppError } from "../../errors/api-errors.ts";
import { issueChallenge, takeSignedChallenge } from "./challenges.ts";
import { CHALLENGE_TTL_SECONDS, MAX_PASSKEYS_PER_USER, relyingParty } from "./relying-party.ts";
import type { TRegistrationResponse } from "./response-schema.ts";

type PasskeyUser = { id: number; email: string; first_name: string; last_name: string };

const tooMany = () =>
  new AppError(
    "CONFLICT",
    `At most ${MAX_PASSKEYS_PER_USER} passkeys per account; remove one first`,
  );

const transportsOf = (row: { transports: string }) =>
  row.transports ? row.transports.split(",") : undefined;

/**
 * Options for `navigator.credentials.create()`: a discoverable credential (so it can sign in
 * alone), user verification preferred, no attestation, none of the user's existing passkeys
 * again. The challenge is stored bound to the user; a newer request replaces it.
 */
export async function createRegistrationOptions(
  db: Kysely<Database>,
  config: Config,
  user: PasskeyUser,
): Promise<PublicKeyCredentialCreationOptionsJSON> {
  const existing = await passkeyDescriptors(db, user.id);
  if (existing.length >= MAX_PASSKEYS_PER_USER) throw tooMany();
  // One opaque WebAuthn user.id per user, never the database id or the email.
  const userHandle = (await findUserHandle(db, user.id)) ?? randomBytes(32).toString("base64url");
  const challenge = await issueChallenge(db, {
    purpose: "registration",
    userId: user.id,
    userHandle,
  });
  const rp = relyingParty(config);
  return generateRegistrationOptions({
    rpName: rp.name,
    rpID: rp.id,
    userID: Buffer.from(userHandle, "base64url"),
    userName: user.email,
    userDisplayName: `${user.first_name} ${user.last_name}`.trim() || user.email,
    challenge: Buffer.from(challenge, "base64url"),
    timeout: CHALLENGE_TTL_SECONDS * 1000,
    attestationType: "none",
    excludeCredentials: existing.map((row) => ({
      id: row.credential_id,
      transports: transportsOf(row),
    })),
    authenticatorSelection: { residentKey: "required", userVerification: "preferred" },
  });
}

const rejected = (message: string) => new AppError("VALIDATION_ERROR", message);

/**
 * Checks a new credential against the user's stored registration challenge (taken once) and
 * stores it under `name`. Bad or replayed responses are 400s, a credential registered before or
 * one passkey too many a 409.
 */
export async function registerPasskey(
  db: Kysely<Database>,
  config: Config,
  input: { userId: number; name: string; response: TRegistrationResponse },
): Promise<ListedPasskeyRow> {
  const taken = await takeSignedChallenge(db, input.response.response.clientDataJSON, {
    purpose: "registration",
    userId: input.userId,
  });
  if (!taken?.userHandle) {
    throw rejected("The registration challenge is unknown, used or expired: ask for new options");
  }
  const rp = relyingParty(config);
  const verification = await verifyRegistrationResponse({
    response: input.response as RegistrationResponseJSON,
    expectedChallenge: taken.challenge,
    expectedOrigin: rp.origins,
    expectedRPID: rp.id,
    requireUserVerification: false,
  }).catch(() => undefined);
  if (!verification?.verified) throw rejected("The passkey could not be verified");
  const { credential, credentialBackedUp } = verification.registrationInfo;
  try {
    const stored = await insertPasskey(
      db,
      {
        userId: input.userId,
        credentialId: credential.id,
        publicKey: credential.publicKey,
        counter: credential.counter,
        transports: (input.response.response.transports ?? []).join(","),
        userHandle: taken.userHandle,
        name: input.name,
        backedUp: credentialBackedUp,
      },
      MAX_PASSKEYS_PER_USER,
    );
    if (!stored) throw tooMany();
    return stored;
  } catch (error) {
    if (uniqueViolation(error) === DUPLICATE_CREDENTIAL) {
      throw new AppError("CONFLICT", "This passkey is already registered");
    }
    throw error;
  }
}
