import { z } from "zod";
import { recordUserEvent } from "../../db/events.ts";
import { softDeleteUser } from "../../db/users.ts";
import { cutOffAccess } from "../../server/auth/sessions.ts";
import { AppError } from "../../server/errors/api-errors.ts";
import { audit } from "../../server/permissions/audit.ts";
import { loadManagedUser } from "../../server/permissions/permissions.ts";
import { adminProcedure } from "../../server/trpc.ts";
import { success, ZId, ZSuccess } from "../shared-schema.ts";

export const deleteUserRoute = adminProcedure
  .meta({
    openapi: {
      method: "DELETE",
      path: "/users/{id}",
      tags: ["users"],
      summary: "Soft-delete a user (sessions end; email and username become free)",
      description:
        "Idempotent: deleting a user who is already deleted answers 200 and changes nothing.",
    },
    errors: ["UNAUTHORIZED", "USER_NOT_FOUND", "CONFLICT"],
  })
  .input(z.strictObject({ id: ZId }))
  .output(ZSuccess)
  .mutation(async ({ ctx, input }) => {
    const target = await loadManagedUser(ctx.db, ctx.user, input.id);
    if (target.id === ctx.user.id) throw new AppError("CONFLICT", "You cannot delete yourself");
    await ctx.db.transaction().execute(async (tx) => {
      // The conditional update decides who deletes: a concurrent (or later) delete of the same
      // user finds it deleted, which is what it asked for, and writes nothing.
      if (!(await softDeleteUser(tx, target.id))) return;
      await cutOffAccess(tx, target.id);
      await audit({ ...ctx, db: tx }, "user.delete", { userId: target.id });
      await recordUserEvent(tx, "user.deleted", target.id);
    });
    return success("User deleted");
  });
