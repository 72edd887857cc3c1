import { createPasskeyAssertionOptions } from "../../server/auth/passkeys/index.ts";
import { enforceRate, rateRules } from "../../server/limits/rate-limit.ts";
import { publicProcedure } from "../../server/trpc.ts";
import { ZNoInput } from "../shared-schema.ts";
import { requestOptions, ZRequestOptions } from "./passkey-schema.ts";

export const signInOptionsRoute = publicProcedure
  .meta({
    openapi: {
      method: "POST",
      path: "/auth/passkey/options",
      tags: ["auth"],
      summary: "Start signing in with a passkey (options for navigator.credentials.get)",
      description:
        "Any discoverable passkey of this site may answer. The challenge is single-use and expires after 5 minutes. Counts against the per-address login limit.",
      protect: false,
    },
    errors: ["RATE_LIMITED"],
  })
  .input(ZNoInput)
  .output(ZRequestOptions)
  .mutation(async ({ ctx }) => {
    await enforceRate(ctx, rateRules(ctx.config).loginPerIp, ctx.request.ip);
    return requestOptions(await createPasskeyAssertionOptions(ctx.db, ctx.config));
  });
