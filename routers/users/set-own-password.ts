import { z } from "zod";
import { hashPasswordForUser } from "../../server/accounts/accounts.ts";
import { requireCurrentPassword } from "../../server/auth/current-password.ts";
import { replacePassword } from "../../server/passwords/replace.ts";
import { authedProcedure } from "../../server/trpc.ts";
import { success, ZPassword, ZSuccess } from "../shared-schema.ts";

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
    const user = await requireCurrentPassword(ctx, ctx.user.id, input.currentPassword);
    const hash = await hashPasswordForUser(ctx, input.newPassword, user);
    await replacePassword(ctx.db, user.id, hash, { keepSessionId: ctx.user.sessionId });
    return success("Password updated");
  });
