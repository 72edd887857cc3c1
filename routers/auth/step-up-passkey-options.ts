import { createPasskeyAssertionOptions } from "../../server/auth/passkeys/index.ts";
import { enforceRate, rateRules } from "../../server/limits/rate-limit.ts";
import { authedProcedure } from "../../server/trpc.ts";
import { requestOptions, ZRequestOptions } from "../passkeys/passkey-schema.ts";
import { ZNoInput } from "../shared-schema.ts";

export const stepUpPasskeyOptionsRoute = authedProcedure
  .meta({
    openapi: {
      method: "POST",
      path: "/auth/step-up/passkey-options",
      tags: ["auth"],
      summary:
        "Step up with a passkey: options for navigator.credentials.get, allowing my passkeys",
      description:
        'The options\' challenge is single-use, bound to me, and expires after 5 minutes. Answer with `POST /auth/step-up` `{factor: "passkey", webauthn}`.',
    },
    errors: ["RATE_LIMITED"],
  })
  .input(ZNoInput)
  .output(ZRequestOptions)
  .mutation(async ({ ctx }) => {
    await enforceRate(ctx, rateRules(ctx.config).loginPerIp, ctx.request.ip);
    return requestOptions(await createPasskeyAssertionOptions(ctx.db, ctx.config, ctx.user.id));
  });
