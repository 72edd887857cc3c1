import { z } from "zod";
import { createAccount } from "../../server/accounts/accounts.ts";
import { enforceRate, rateRules } from "../../server/limits/rate-limit.ts";
import { publicProcedure } from "../../server/trpc.ts";
import { ZEmail, ZPassword } from "../shared-schema.ts";
import { toUser, ZName, ZUser, ZUsername } from "./user-schema.ts";

export const ZSignupInput = z.strictObject({
  email: ZEmail,
  password: ZPassword,
  firstName: ZName,
  lastName: ZName,
  username: ZUsername.optional(),
});

export const signupRoute = publicProcedure
  .meta({
    openapi: {
      method: "POST",
      path: "/users/signup",
      tags: ["users"],
      summary: "Sign up (status pending; a verification mail is sent)",
      protect: false,
    },
    successStatus: 201,
    errors: ["WEAK_PASSWORD", "EMAIL_TAKEN", "USERNAME_TAKEN", "RATE_LIMITED"],
  })
  .input(ZSignupInput)
  .output(ZUser)
  .mutation(async ({ ctx, input }) => {
    await enforceRate(ctx, rateRules(ctx.config).signupPerIp, ctx.request.ip);
    return toUser(await createAccount(ctx, { ...input, role: "User", status: "pending" }));
  });
