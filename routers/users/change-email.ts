import { z } from "zod";
import { findUserByEmail } from "../../db/users.ts";
import { takenError } from "../../server/accounts/taken.ts";
import { requireCurrentPassword } from "../../server/auth/current-password.ts";
import { AppError } from "../../server/errors/api-errors.ts";
import { queueTokenMail, requireReissueAllowed } from "../../server/mail/token-mail.ts";
import { authedProcedure } from "../../server/trpc.ts";
import { success, ZEmail, ZPassword, ZSuccess } from "../shared-schema.ts";

export const changeEmailRoute = authedProcedure
  .meta({
    openapi: {
      method: "POST",
      path: "/users/me/email",
      tags: ["users"],
      summary:
        "Change my email: a confirmation link goes to the new address; the change applies when it is confirmed (POST /users/verification/confirm)",
    },
    successStatus: 202,
    errors: ["INVALID_CURRENT_PASSWORD", "EMAIL_TAKEN", "CONFLICT", "RATE_LIMITED"],
  })
  .input(z.strictObject({ newEmail: ZEmail, currentPassword: ZPassword }))
  .output(ZSuccess)
  .mutation(async ({ ctx, input }) => {
    const user = await requireCurrentPassword(ctx, ctx.user.id, input.currentPassword);
    if (input.newEmail === user.email) {
      throw new AppError("CONFLICT", "That is already your email address");
    }
    // Spent before the address is looked up, so asking about a taken address costs what asking
    // about a free one costs: no way to test addresses faster than one a minute.
    await requireReissueAllowed(ctx, user.id, "email_change");
    // Checked again when the change is confirmed; a change of case only is allowed.
    const holder = await findUserByEmail(ctx.db, input.newEmail);
    if (holder && holder.id !== user.id) {
      throw takenError("email");
    }
    await ctx.db.transaction().execute(async (tx) => {
      await queueTokenMail(tx, ctx.config, {
        kind: "email_change",
        user,
        recipient: input.newEmail,
        newEmail: input.newEmail,
      });
    });
    return success(
      "A confirmation link was sent to the new address; the change applies once it is confirmed",
    );
  });
