import { z } from "zod";
import type { UserStatus } from "../../db/database.ts";
import { findUserByEmail } from "../../db/users.ts";
import { mailIntervalRule, queueTokenMail } from "../../server/mail/token-mail.ts";
import { enforceRate, rateRules, withinRate } from "../../server/rate-limit.ts";
import { publicProcedure } from "../../server/trpc.ts";
import { success, ZEmail, ZSuccess } from "../users/user-schema.ts";

/** Statuses whose owner may reset the password by mail (a reset also proves the mailbox). */
export const RESETTABLE: readonly UserStatus[] = ["pending", "invited", "active"];

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
    // Only quick work here (two lookups, one short transaction): the mail itself is sent by
    // the worker, so known and unknown addresses take about as long.
    await enforceRate(ctx, rateRules(ctx.config).resetPerIp, ctx.request.ip);
    const user = await findUserByEmail(ctx.db, input.email);
    if (!user || !RESETTABLE.includes(user.status)) return ANSWER;
    // Per recipient the limits are silent: a 429 here would tell that the address has an account.
    const recipient = String(user.id);
    if (!(await withinRate(ctx, mailIntervalRule("password_reset"), recipient))) return ANSWER;
    if (!(await withinRate(ctx, rateRules(ctx.config).resetPerRecipient, recipient))) return ANSWER;
    await ctx.db.transaction().execute(async (tx) => {
      await queueTokenMail(tx, ctx.config, { kind: "password_reset", user, recipient: user.email });
    });
    return ANSWER;
  });
