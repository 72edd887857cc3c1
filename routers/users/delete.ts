import { z } from "zod";
import { updateUser } from "../../db/users.ts";
import { audit } from "../../server/audit.ts";
import { cutOffAccess } from "../../server/auth/sessions.ts";
import { AppError } from "../../server/errors.ts";
import { loadManagedUser } from "../../server/permissions.ts";
import { adminProcedure } from "../../server/trpc.ts";
import { success, ZSuccess, ZUserId } from "./user-schema.ts";

export const deleteUserRoute = adminProcedure
  .meta({
    openapi: {
      method: "DELETE",
      path: "/users/{id}",
      tags: ["users"],
      summary: "Soft-delete a user (sessions end; email and username become free)",
    },
    errors: ["UNAUTHORIZED", "USER_NOT_FOUND", "CONFLICT"],
  })
  .input(z.strictObject({ id: ZUserId }))
  .output(ZSuccess)
  .mutation(async ({ ctx, input }) => {
    const target = await loadManagedUser(ctx.db, ctx.user, input.id);
    if (target.id === ctx.user.id) throw new AppError("CONFLICT", "You cannot delete yourself");
    if (target.status === "deleted") throw new AppError("CONFLICT", "The user is already deleted");
    await ctx.db.transaction().execute(async (tx) => {
      await updateUser(tx, target.id, {
        status: "deleted",
        status_before_delete: target.status,
        deleted_at: new Date(),
      });
      await cutOffAccess(tx, target.id);
      await audit({ ...ctx, db: tx }, "user.delete", { userId: target.id });
    });
    return success("User deleted");
  });
