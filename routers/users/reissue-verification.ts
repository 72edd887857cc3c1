import { z } from "zod";
import { AppError } from "../../server/errors/api-errors.ts";
import { queueTokenMail, requireReissueAllowed } from "../../server/mail/token-mail.ts";
import {
  loadManagedUser,
  loadVisibleUser,
  requireSelfOrAdmin,
} from "../../server/permissions/permissions.ts";
import { authedProcedure } from "../../server/trpc.ts";
import { success, ZId, ZSuccess } from "../shared-schema.ts";

export const reissueVerificationRoute = authedProcedure
  .meta({
    openapi: {
      method: "POST",
      path: "/users/{id}/verification",
      tags: ["users"],
      summary: "Send the verification mail again (the previous link stops working)",
    },
    errors: ["UNAUTHORIZED", "USER_NOT_FOUND", "CONFLICT", "RATE_LIMITED"],
  })
  .input(z.strictObject({ id: ZId }))
  .output(ZSuccess)
  .mutation(async ({ ctx, input }) => {
    requireSelfOrAdmin(ctx.user, input.id);
    const target =
      input.id === ctx.user.id
        ? await loadVisibleUser(ctx.db, ctx.user, { id: input.id })
        : await loadManagedUser(ctx.db, ctx.user, input.id);
    if (target.email_verified) throw new AppError("CONFLICT", "The email is already verified");
    if (target.status !== "pending" && target.status !== "active") {
      throw new AppError("CONFLICT", `A ${target.status} user cannot be sent a verification mail`);
    }
    await requireReissueAllowed(ctx, target.id, "verification");
    await ctx.db.transaction().execute((tx) =>
      queueTokenMail(tx, ctx.config, {
        kind: "verification",
        user: target,
        recipient: target.email,
      }),
    );
    return success("Verification email sent");
  });
