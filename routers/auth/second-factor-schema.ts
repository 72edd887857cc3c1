import { z } from "zod";
import { FACTOR_KINDS } from "../../server/auth/second-factor/registry.ts";
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
    "An Admin or AppAdmin without a second factor while REQUIRE_SECOND_FACTOR_FOR_ADMINS is on: the access token only allows enrolling TOTP (POST /users/me/factors/totp and its confirmation); no refresh token. Sign in again once enrolled.",
});

/** What POST /auth/token answers: tokens, a second-factor challenge, or an enrolment-only token. */
export const ZSignInResult = z.union([ZTokenPair, ZSecondFactorChallenge, ZEnrolmentRequired]);
