import { z } from "zod";
import { hashPasswordForUser } from "../../server/accounts/accounts.ts";
import { writePassword } from "../../server/passwords/replace.ts";
import { audit } from "../../server/permissions/audit.ts";
import { loadManagedUser } from "../../server/permissions/permissions.ts";
import { adminProcedure } from "../../server/trpc.ts";
import { success, ZId, ZPassword, ZSuccess } from "../shared-schema.ts";

export const setPasswordRoute = adminProcedure
  .meta({
    openapi: {
      method: "PUT",
      path: "/users/{id}/password",
      tags: ["users"],
      summary: "Set a user's password (all of their sessions end)",
    },
    errors: ["WEAK_PASSWORD", "UNAUTHORIZED", "USER_NOT_FOUND"],
  })
  .input(z.strictObject({ id: ZId, newPassword: ZPassword }))
  .output(ZSuccess)
  .mutation(async ({ ctx, input }) => {
    const target = await loadManagedUser(ctx.db, ctx.user, input.id);
    const hash = await hashPasswordForUser(ctx, input.newPassword, target);
    // The password and its audit entry are stored together, or neither.
    await ctx.db.transaction().execute(async (tx) => {
      await writePassword(tx, target.id, hash);
      await audit({ ...ctx, db: tx }, "user.password_set", { userId: target.id });
    });
    return success("Password set");
  });
