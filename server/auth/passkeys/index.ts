/**
 * Passkeys (WebAuthn), for the procedures and for the two-step sign-in: a second step accepts
 * `{ challenge, webauthn }` by calling `createPasskeyAssertionOptions(db, config, userId)` when it
 * offers the factor and `verifyPasskeyAssertion(db, config, { userId, response })` when it checks
 * it; `countPasskeys(db, userId)` tells whether a user has this factor, and
 * `deleteUserPasskeys(db, userId)` removes them all (an admin's reset of a user's factors; the
 * caller audits it and ends the sessions).
 */
export { countPasskeys, deleteUserPasskeys } from "../../../db/passkeys.ts";
export {
  createPasskeyAssertionOptions,
  verifyPasskeyAssertion,
} from "./assertion.ts";
export { createRegistrationOptions, registerPasskey } from "./registration.ts";
export {
  CHALLENGE_TTL_SECONDS,
  MAX_PASSKEYS_PER_USER,
  relyingParty,
} from "./relying-party.ts";
export {
  type TAuthenticationResponse,
  type TRegistrationResponse,
  ZAuthenticationResponse,
  ZRegistrationResponse,
  ZTransport,
} from "./response-schema.ts";
export { signInWithPasskey } from "./sign-in.ts";
