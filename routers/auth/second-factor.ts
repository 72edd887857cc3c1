import { z } from "zod";
import { completeSignInChallenge } from "../../server/auth/second-factor/sign-in-challenge.ts";
import { startSession } from "../../server/auth/sessions.ts";
import { publicProcedure } from "../../server/trpc.ts";
import { isWellFormedProof, proofFields, proofMessage, toProof } from "./second-factor-schema.ts";
import { ZTokenPair } from "./token-schema.ts";

export const secondFactorRoute = publicProcedure
  .meta({
    openapi: {
      method: "POST",
      path: "/auth/token/second-factor",
      tags: ["auth"],
      summary:
        "Log in, second step: the challenge from POST /auth/token and a proof of one of the user's factors (a code, or a passkey's assertion) give the token pair",
      description:
        'With a code: `{challenge, factor: "totp" | "recovery_code", code}`. With a passkey: get options from `POST /auth/token/second-factor/passkey-options` `{challenge}`, then send `{challenge, factor: "passkey", webauthn}`.',
      protect: false,
    },
    errors: ["INVALID_CREDENTIALS", "INVALID_SECOND_FACTOR", "RATE_LIMITED"],
  })
  .input(
    z
      .strictObject({ challenge: z.string().min(1).max(200), ...proofFields })
      .refine(isWellFormedProof, proofMessage)
      .meta({ examples: [{ challenge: "9yJ2…", factor: "totp", code: "492039" }] }),
  )
  .output(ZTokenPair)
  .mutation(async ({ ctx, input }) => {
    const { challenge, ...proof } = input;
    const user = await completeSignInChallenge(ctx, challenge, toProof(proof));
    return startSession(ctx, user);
  });
