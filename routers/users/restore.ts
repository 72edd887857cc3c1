import { z } from "zod";
import { recordUserEvent } from "../../db/events.ts";
import { restoreUser } from "../../db/users.ts";
import { refuseTaken } from "../../server/accounts/taken.ts";
import { AppError } from "../../server/errors/api-errors.ts";
import { audit } from "../../server/permissions/audit.ts";
import { loadManagedUser } from "../../server/permissions/permissions.ts";
import { adminProcedure } from "../../server/trpc.ts";
import { ZId } from "../shared-schema.ts";
import { toUser, ZUser } from "./user-schema.ts";

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
  .input(z.strictObject({ id: ZId }))
  .output(ZUser)
  .mutation(async ({ ctx, input }) => {
    const target = await loadManagedUser(ctx.db, ctx.user, input.id);
    return ctx.db.transaction().execute(async (tx) => {
      // The conditional update decides: of concurrent restores one restores, the others find
      // the user not deleted. The partial unique indexes refuse it when a newer account took
      // the email or username.
      const user = await refuseTaken(restoreUser(tx, target.id));
      if (!user) throw new AppError("CONFLICT", "The user is not deleted");
      await audit({ ...ctx, db: tx }, "user.restore", { userId: user.id }, { status: user.status });
      await recordUserEvent(tx, "user.restored", user.id);
      return toUser(user);
    });
  });
