import { z } from "zod";
import { completeSignInChallenge } from "../../server/auth/second-factor/sign-in-challenge.ts";
import { startSession } from "../../server/auth/sessions.ts";
import { publicProcedure } from "../../server/trpc.ts";
import { ZFactorCode } from "../shared-schema.ts";
import { ZFactorKind } from "./second-factor-schema.ts";
import { ZTokenPair } from "./token-schema.ts";

export const secondFactorRoute = publicProcedure
  .meta({
    openapi: {
      method: "POST",
      path: "/auth/token/second-factor",
      tags: ["auth"],
      summary:
        "Log in, second step: the challenge from POST /auth/token and a code of one of the user's factors give the token pair",
      protect: false,
    },
    errors: ["INVALID_CREDENTIALS", "INVALID_SECOND_FACTOR", "RATE_LIMITED"],
  })
  .input(
    z
      .strictObject({
        challenge: z.string().min(1).max(200),
        factor: ZFactorKind,
        code: ZFactorCode,
      })
      .meta({ examples: [{ challenge: "9yJ2…", factor: "totp", code: "492039" }] }),
  )
  .output(ZTokenPair)
  .mutation(async ({ ctx, input }) => {
    const { challenge, ...proof } = input;
    const user = await completeSignInChallenge(ctx, challenge, proof);
    return startSession(ctx, user);
  });
