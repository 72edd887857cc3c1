import { z } from "zod";
import { updateUser } from "../../db/users.ts";
import { audit } from "../../server/audit.ts";
import { AppError } from "../../server/errors.ts";
import { loadManagedUser, userNotFound } from "../../server/permissions.ts";
import { adminProcedure } from "../../server/trpc.ts";
import { toUser, ZUser, ZUserId } from "./user-schema.ts";

export const restoreUserRoute = adminProcedure
  .meta({
    openapi: {
      method: "POST",
      path: "/users/{id}/restore",
      tags: ["users"],
      summary: "Restore a soft-deleted user",
    },
    errors: ["UNAUTHORIZED", "USER_NOT_FOUND", "CONFLICT", "EMAIL_TAKEN", "USERNAME_TAKEN"],
  })
  .input(z.strictObject({ id: ZUserId }))
  .output(ZUser)
  .mutation(async ({ ctx, input }) => {
    const target = await loadManagedUser(ctx.db, ctx.user, input.id);
    if (target.status !== "deleted") throw new AppError("CONFLICT", "The user is not deleted");
    // The partial unique indexes refuse this when a newer account took the email or username.
    const user = await updateUser(ctx.db, target.id, {
      status: target.status_before_delete ?? "active",
      status_before_delete: null,
      deleted_at: null,
    });
    if (!user) throw userNotFound();
    await audit(ctx, "user.restore", { userId: user.id }, { status: user.status });
    return toUser(user);
  });
