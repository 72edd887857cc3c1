import { z } from "zod";
import { deleteAccount } from "../../server/accounts/delete-account.ts";
import { AppError } from "../../server/errors/api-errors.ts";
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
      // A concurrent (or later) delete of the same user finds it deleted, which is what it
      // asked for, and writes nothing.
      await deleteAccount(tx, ctx.user, target.id, "user.delete");
    });
    return success("User deleted");
  });
