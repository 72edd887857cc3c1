import { z } from "zod";
import { passkeyOptionsForChallenge } from "../../server/auth/second-factor/sign-in-challenge.ts";
import { enforceRate, rateRules } from "../../server/limits/rate-limit.ts";
import { publicProcedure } from "../../server/trpc.ts";
import { requestOptions, ZRequestOptions } from "../passkeys/passkey-schema.ts";

export const secondFactorPasskeyOptionsRoute = publicProcedure
  .meta({
    openapi: {
      method: "POST",
      path: "/auth/token/second-factor/passkey-options",
      tags: ["auth"],
      summary:
        "Log in, second step with a passkey: options for navigator.credentials.get, allowing the challenge's user's passkeys",
      description:
        'The sign-in challenge is not spent; the options\' own challenge is single-use, bound to that user, and expires after 5 minutes. Answer with `POST /auth/token/second-factor` `{challenge, factor: "passkey", webauthn}`. Counts against the per-address login limit.',
      protect: false,
    },
    errors: ["INVALID_CREDENTIALS", "RATE_LIMITED"],
  })
  .input(z.strictObject({ challenge: z.string().min(1).max(200) }))
  .output(ZRequestOptions)
  .mutation(async ({ ctx, input }) => {
    await enforceRate(ctx, rateRules(ctx.config).loginPerIp, ctx.request.ip);
    return requestOptions(await passkeyOptionsForChallenge(ctx, input.challenge));
  });
