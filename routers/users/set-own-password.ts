import { z } from "zod";
import { findUserById } from "../../db/users.ts";
import { hashPasswordForUser } from "../../server/accounts.ts";
import { AppError } from "../../server/errors.ts";
import { verifyPassword } from "../../server/passwords/hash.ts";
import { replacePassword } from "../../server/passwords/replace.ts";
import { enforceRate, rateRules } from "../../server/rate-limit.ts";
import { authedProcedure } from "../../server/trpc.ts";
import { success, ZPassword, ZSuccess } from "./user-schema.ts";

export const setOwnPasswordRoute = authedProcedure
  .meta({
    openapi: {
      method: "PUT",
      path: "/users/password",
      tags: ["users"],
      summary:
        "Set my password (every access token ends; other sessions end; this session's refresh token keeps working)",
    },
    errors: ["WEAK_PASSWORD", "INVALID_CURRENT_PASSWORD", "RATE_LIMITED"],
  })
  .input(z.strictObject({ currentPassword: ZPassword, newPassword: ZPassword }))
  .output(ZSuccess)
  .mutation(async ({ ctx, input }) => {
    await enforceRate(ctx, rateRules(ctx.config).passwordPerAccount, String(ctx.user.id));
    const user = await findUserById(ctx.db, ctx.user.id);
    const current = input.currentPassword.normalize("NFKC");
    if (!user?.password_hash || !(await verifyPassword(user.password_hash, current))) {
      throw new AppError("INVALID_CURRENT_PASSWORD", "The current password is incorrect");
    }
    const hash = await hashPasswordForUser(ctx.config, input.newPassword, user);
    await replacePassword(ctx.db, user.id, hash, { keepSessionId: ctx.user.sessionId });
    return success("Password updated");
  });
