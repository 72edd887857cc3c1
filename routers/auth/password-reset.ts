import { z } from "zod";
import { enforceRate, rateRules, withinRate } from "../../server/limits/rate-limit.ts";
import { queueResetRequest } from "../../server/mail/reset-requests.ts";
import { mailIntervalRule } from "../../server/mail/token-mail.ts";
import { publicProcedure } from "../../server/trpc.ts";
import { success, ZEmail, ZSuccess } from "../shared-schema.ts";

const ANSWER = success("If the address belongs to an account, a reset link is on its way");

export const passwordResetRoute = publicProcedure
  .meta({
    openapi: {
      method: "POST",
      path: "/auth/password-reset",
      tags: ["auth"],
      summary:
        "Ask for a password reset link by mail (always 202 with the same body, whether or not the address is known)",
      protect: false,
    },
    successStatus: 202,
    errors: ["RATE_LIMITED"],
  })
  .input(z.strictObject({ email: ZEmail }))
  .output(ZSuccess)
  .mutation(async ({ ctx, input }) => {
    // Nothing here depends on whether the address has an account: the same counters and the
    // same one-row insert for every address; the mail worker looks the address up afterwards.
    await enforceRate(ctx, rateRules(ctx.config).resetPerIp, ctx.request.ip);
    // Per recipient the limits are silent (a 429 would say something about the address), and
    // counted per address, known or not.
    const recipient = input.email.toLowerCase();
    if (!(await withinRate(ctx, mailIntervalRule("password_reset"), recipient))) return ANSWER;
    if (!(await withinRate(ctx, rateRules(ctx.config).resetPerRecipient, recipient))) return ANSWER;
    await queueResetRequest(ctx.db, ctx.config, input.email);
    return ANSWER;
  });
