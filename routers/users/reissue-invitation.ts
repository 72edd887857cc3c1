import { z } from "zod";
import { AppError } from "../../server/errors/api-errors.ts";
import { queueTokenMail, requireReissueAllowed } from "../../server/mail/token-mail.ts";
import { loadManagedUser } from "../../server/permissions/permissions.ts";
import { adminProcedure } from "../../server/trpc.ts";
import { success, ZId, ZSuccess } from "../shared-schema.ts";

export const reissueInvitationRoute = adminProcedure
  .meta({
    openapi: {
      method: "POST",
      path: "/users/{id}/invitation",
      tags: ["users"],
      summary: "Send the invitation mail again (the previous link stops working)",
    },
    errors: ["UNAUTHORIZED", "USER_NOT_FOUND", "CONFLICT", "RATE_LIMITED"],
  })
  .input(z.strictObject({ id: ZId }))
  .output(ZSuccess)
  .mutation(async ({ ctx, input }) => {
    const target = await loadManagedUser(ctx.db, ctx.user, input.id);
    if (target.status !== "invited") throw new AppError("CONFLICT", "The user is not invited");
    await requireReissueAllowed(ctx, target.id, "invitation");
    await ctx.db.transaction().execute((tx) =>
      queueTokenMail(tx, ctx.config, {
        kind: "invitation",
        user: target,
        recipient: target.email,
      }),
    );
    return success("Invitation email sent");
  });
