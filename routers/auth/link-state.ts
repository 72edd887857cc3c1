import { z } from "zod";
import { enforceRate, rateRules } from "../../server/limits/rate-limit.ts";
import {
  checkLink,
  LINK_HOLDERS,
  LINK_STATES,
  PASSWORD_LINK_KINDS,
} from "../../server/mail/email-links.ts";
import { publicProcedure } from "../../server/trpc.ts";
import { ZLinkToken } from "../shared-schema.ts";

export const ZLinkStateInput = z.strictObject({
  token: ZLinkToken,
  kind: z
    .enum(PASSWORD_LINK_KINDS)
    .meta({ description: "The mail the link came in: an invitation or a password reset" }),
});

export const ZLinkState = z
  .object({
    state: z.enum(LINK_STATES).meta({
      description:
        "valid: the link still works · expired · used · invalid: unknown, replaced by a newer link, or no longer usable by its account",
    }),
    // As ZUser shows it: what is stored, never re-validated on the way out.
    email: z.string().optional().meta({
      example: "ada@example.com",
      description:
        "Only when valid: the account's address, for the password form's username field (what a password manager saves the new password under)",
    }),
  })
  .meta({ id: "LinkState" });

export const linkStateRoute = publicProcedure
  .meta({
    openapi: {
      method: "POST",
      path: "/auth/link-state",
      tags: ["auth"],
      summary:
        "Whether an emailed invitation or reset link still works, without using it (the landing pages ask when they open)",
      description:
        "Reads only: the token is neither spent nor extended. A POST so the token stays out of URLs and logs. At most 60 checks per client address per 15 minutes, then 429.",
      protect: false,
    },
    errors: ["RATE_LIMITED"],
  })
  .input(ZLinkStateInput)
  .output(ZLinkState)
  // A mutation only so the native door sends the token in a body too; it changes nothing.
  .mutation(async ({ ctx, input }) => {
    await enforceRate(ctx, rateRules(ctx.config).linkStatePerIp, ctx.request.ip);
    const link = await checkLink(ctx.db, input.kind, input.token, LINK_HOLDERS[input.kind]);
    return link.user ? { state: link.state, email: link.user.email } : { state: link.state };
  });
