import { z } from "zod";
import { updateUser } from "../../db/users.ts";
import { audit } from "../../server/audit.ts";
import { cutOffAccess } from "../../server/auth/sessions.ts";
import { AppError } from "../../server/errors.ts";
import { loadManagedUser, requireMayGrant, userNotFound } from "../../server/permissions.ts";
import { adminProcedure } from "../../server/trpc.ts";
import { toUser, ZName, ZRole, ZUser, ZUserId, ZUsername } from "./user-schema.ts";

export const ZEditUserInput = z.strictObject({
  id: ZUserId,
  firstName: ZName.optional(),
  lastName: ZName.optional(),
  username: ZUsername.optional(),
  status: z.enum(["active", "suspended"]).optional(),
  role: ZRole.optional().meta({ description: "AppAdmin only" }),
});

export const editUserRoute = adminProcedure
  .meta({
    openapi: { method: "PATCH", path: "/users/{id}", tags: ["users"], summary: "Edit a user" },
    errors: ["UNAUTHORIZED", "USER_NOT_FOUND", "USERNAME_TAKEN", "CONFLICT"],
  })
  .input(ZEditUserInput)
  .output(ZUser)
  .mutation(async ({ ctx, input }) => {
    const target = await loadManagedUser(ctx.db, ctx.user, input.id);
    if (input.role !== undefined) requireMayGrant(ctx.user, input.role);
    const changesAccess =
      (input.status !== undefined && input.status !== target.status) ||
      (input.role !== undefined && input.role !== target.role);
    if (changesAccess && target.id === ctx.user.id) {
      throw new AppError("CONFLICT", "You cannot change your own role or status");
    }
    if (input.status !== undefined && target.status === "deleted") {
      throw new AppError("CONFLICT", "The user is deleted; restore it first");
    }
    const suspending = input.status === "suspended" && target.status !== "suspended";
    const user = await ctx.db.transaction().execute(async (tx) => {
      const updated = await updateUser(tx, target.id, {
        first_name: input.firstName,
        last_name: input.lastName,
        username: input.username,
        status: input.status,
        role: input.role,
      });
      const { id, ...changes } = input;
      await audit({ ...ctx, db: tx }, "user.edit", { userId: id }, changes);
      if (suspending) await cutOffAccess(tx, target.id);
      return updated;
    });
    if (!user) throw userNotFound();
    return toUser(user);
  });
