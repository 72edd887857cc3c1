import {
  type AuthenticationResponseJSON,
  generateAuthenticationOptions,
  type PublicKeyCredentialRequestOptionsJSON,
  verifyAuthenticationResponse,
} from "@simplewebauthn/server";
import type { Kysely } from "kysely";
import type { Database } from "../../../db/database.ts";
import {
  findPasskeyByCredentialId,
  passkeyDescriptors,
  recordPasskeyUse,
  type StoredPasskey,
} from "../../../db/passkeys.ts";
import type { Config } from "../../config.ts";
import { AppError } from "../../errors/api-errors.ts";
import { issueChallenge, takeSignedChallenge } from "./challenges.ts";
import { CHALLENGE_TTL_SECONDS, relyingParty } from "./relying-party.ts";
import type { TAuthenticationResponse } from "./response-schema.ts";

/**
 * Options for `navigator.credentials.get()`. With a `userId` (a second factor for a user who
 * gave their password) the challenge is bound to that user and only their passkeys are allowed;
 * without one (a sign-in with a passkey alone) the browser offers any discoverable passkey of
 * this site, and the challenge is bound to this ceremony only.
 */
export async function createPasskeyAssertionOptions(
  db: Kysely<Database>,
  config: Config,
  userId?: number,
): Promise<PublicKeyCredentialRequestOptionsJSON> {
  const allowed = userId === undefined ? [] : await passkeyDescriptors(db, userId);
  const challenge = await issueChallenge(db, {
    purpose: userId === undefined ? "sign-in" : "second-factor",
    userId: userId ?? null,
  });
  return generateAuthenticationOptions({
    rpID: relyingParty(config).id,
    challenge: Buffer.from(challenge, "base64url"),
    timeout: CHALLENGE_TTL_SECONDS * 1000,
    // Alone, a passkey is the whole sign-in: the device must verify its user (PIN, biometrics),
    // which makes it multi-factor by itself. As a second factor, after the password, possession
    // is what is added, so verification is only preferred.
    userVerification: userId === undefined ? "required" : "preferred",
    allowCredentials: allowed.map((row) => ({
      id: row.credential_id,
      transports: row.transports ? row.transports.split(",") : undefined,
    })),
  });
}

/**
 * Checks an assertion by a stored passkey against a challenge already taken, and records the
 * use. A counter that does not move forward (a cloned authenticator, or a replay racing the
 * original) is refused, in the library's check and again in the update's condition.
 */
async function checkAssertion(
  db: Kysely<Database>,
  config: Config,
  passkey: StoredPasskey,
  response: TAuthenticationResponse,
  challenge: string,
  requireUserVerification: boolean,
): Promise<boolean> {
  const rp = relyingParty(config);
  const verification = await verifyAuthenticationResponse({
    response: response as AuthenticationResponseJSON,
    expectedChallenge: challenge,
    expectedOrigin: rp.origins,
    expectedRPID: rp.id,
    credential: {
      id: passkey.credential_id,
      publicKey: passkey.public_key,
      counter: passkey.counter,
    },
    requireUserVerification,
  }).catch(() => undefined);
  if (!verification?.verified) return false;
  return recordPasskeyUse(
    db,
    passkey.id,
    passkey.counter,
    verification.authenticationInfo.newCounter,
  );
}

const refused = () => new AppError("INVALID_CREDENTIALS", "The passkey was not accepted");

/**
 * The second-factor check for a KNOWN user (the integrator's interface for the two-step
 * sign-in): the assertion must answer the challenge `createPasskeyAssertionOptions(db, config,
 * userId)` issued (taken once here), by one of that user's passkeys. Throws 401
 * INVALID_CREDENTIALS otherwise; the caller counts that against its login guard.
 */
export async function verifyPasskeyAssertion(
  db: Kysely<Database>,
  config: Config,
  input: { userId: number; response: TAuthenticationResponse },
): Promise<{ credentialId: string }> {
  const taken = await takeSignedChallenge(db, input.response.response.clientDataJSON, {
    purpose: "second-factor",
    userId: input.userId,
  });
  const passkey = taken && (await findPasskeyByCredentialId(db, input.response.id));
  if (
    !taken ||
    passkey?.user_id !== input.userId ||
    !(await checkAssertion(db, config, passkey, input.response, taken.challenge, false))
  ) {
    throw refused();
  }
  return { credentialId: passkey.credential_id };
}

/**
 * A discoverable sign-in's check: the challenge of `createPasskeyAssertionOptions(db, config)`
 * (taken once), a known passkey, the user handle the authenticator names being that passkey's.
 * Returns whose passkey it was, or undefined.
 */
export async function verifyDiscoverableAssertion(
  db: Kysely<Database>,
  config: Config,
  response: TAuthenticationResponse,
): Promise<{ userId: number; credentialId: string } | undefined> {
  const taken = await takeSignedChallenge(db, response.response.clientDataJSON, {
    purpose: "sign-in",
    userId: null,
  });
  if (!taken) return undefined;
  const passkey = await findPasskeyByCredentialId(db, response.id);
  if (!passkey) return undefined;
  const { userHandle } = response.response;
  if (userHandle !== undefined && userHandle !== passkey.user_handle) return undefined;
  if (!(await checkAssertion(db, config, passkey, response, taken.challenge, true))) {
    return undefined;
  }
  return { userId: passkey.user_id, credentialId: passkey.credential_id };
}

/** Takes (and so spends) the challenge a response answers, without checking anything else. */
export async function discardSignInChallenge(
  db: Kysely<Database>,
  response: TAuthenticationResponse,
): Promise<void> {
  await takeSignedChallenge(db, response.response.clientDataJSON, {
    purpose: "sign-in",
    userId: null,
  });
}
