import { z } from "zod";
import { deleteMembership } from "../../db/organizations.ts";
import { AppError } from "../../server/errors/api-errors.ts";
import { audit } from "../../server/permissions/audit.ts";
import { appAdminProcedure } from "../../server/trpc.ts";
import { ZDone, ZId } from "../shared-schema.ts";
import { recordMembershipEvent } from "./organization-events.ts";

export const deleteMemberRoute = appAdminProcedure
  .meta({
    openapi: {
      method: "DELETE",
      path: "/organizations/{id}/members/{userId}",
      tags: ["organizations"],
      summary: "Remove a member",
    },
    errors: ["UNAUTHORIZED", "NOT_FOUND"],
  })
  .input(z.strictObject({ id: ZId, userId: ZId }))
  .output(ZDone)
  .mutation(async ({ ctx, input }) => {
    // The row count decides: of concurrent removals one removes and audits, the others get 404.
    await ctx.db.transaction().execute(async (tx) => {
      const result = await deleteMembership(tx, input.userId, input.id);
      if (result.numDeletedRows === 0n) throw new AppError("NOT_FOUND", "No such membership");
      await audit({ ...ctx, db: tx }, "membership.delete", {
        userId: input.userId,
        organizationId: input.id,
      });
      await recordMembershipEvent(tx, "membership.deleted", {
        organizationId: input.id,
        userId: input.userId,
      });
    });
    return { success: true as const };
  });
