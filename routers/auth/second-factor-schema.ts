import { z } from "zod";
import { ZAuthenticationResponse } from "../../server/auth/passkeys/index.ts";
import { FACTOR_KINDS, type FactorProof } from "../../server/auth/second-factor/registry.ts";
import { ZFactorCode } from "../shared-schema.ts";
import { ZTokenPair } from "./token-schema.ts";

export const ZFactorKind = z
  .enum(FACTOR_KINDS)
  .meta({ description: "A kind of second factor", example: "totp" });

export const ZSecondFactorChallenge = z
  .object({
    secondFactorRequired: z.literal(true),
    challenge: z
      .string()
      .meta({ description: "Single use; send it with a code to POST /auth/token/second-factor" }),
    factors: z.array(ZFactorKind).meta({ description: "The kinds of factor this user can use" }),
    expiresIn: z
      .number()
      .int()
      .meta({ description: "Seconds until the challenge expires", example: 300 }),
  })
  .meta({ id: "SecondFactorChallenge" });

export const ZAccessToken = z
  .object({
    accessToken: z.string(),
    tokenType: z.literal("Bearer"),
    expiresIn: z
      .number()
      .int()
      .meta({ description: "Seconds until the access token expires", example: 900 }),
  })
  .meta({ id: "AccessToken" });

export const ZEnrolmentRequired = ZAccessToken.extend({
  secondFactorEnrolmentRequired: z.literal(true),
}).meta({
  id: "SecondFactorEnrolmentRequired",
  description:
    "An Admin or AppAdmin without a second factor while REQUIRE_SECOND_FACTOR_FOR_ADMINS is on: the access token only allows enrolling TOTP (POST /users/me/factors/totp and its confirmation) or registering a passkey (POST /users/me/passkeys/registration-options, then POST /users/me/passkeys); no refresh token. Sign in again once enrolled.",
});

/** What POST /auth/token answers: tokens, a second-factor challenge, or an enrolment-only token. */
export const ZSignInResult = z.union([ZTokenPair, ZSecondFactorChallenge, ZEnrolmentRequired]);

/**
 * The fields that prove a factor, flat in a body: `factor` and `code` (totp, recovery_code), or
 * `factor: "passkey"` and `webauthn` (the assertion, as `@simplewebauthn/browser` returns it).
 */
export const proofFields = {
  factor: ZFactorKind,
  code: ZFactorCode.optional().meta({ description: "With factor totp or recovery_code" }),
  webauthn: ZAuthenticationResponse.optional().meta({
    description:
      "With factor passkey: the assertion answering the options of the matching passkey-options route",
  }),
};

type ProofFields = {
  factor: z.infer<typeof ZFactorKind>;
  code?: string | undefined;
  webauthn?: z.infer<typeof ZAuthenticationResponse> | undefined;
};

/** A passkey comes with `webauthn` and no `code`; any other kind with `code` and no `webauthn`. */
export const isWellFormedProof = (input: Partial<ProofFields>) =>
  input.factor === "passkey"
    ? input.webauthn !== undefined && input.code === undefined
    : input.code !== undefined && input.webauthn === undefined;

export const proofMessage = {
  message: 'Send factor "passkey" with webauthn, or another factor with code',
};

/** The proof the registry checks, from the body's flat fields (already well formed). */
export const toProof = ({ factor, code, webauthn }: ProofFields): FactorProof =>
  factor === "passkey"
    ? { factor, webauthn: webauthn as z.infer<typeof ZAuthenticationResponse> }
    : { factor, code: code as string };
