import { z } from "zod";
import { recordSecondFactorsChanged } from "../../server/auth/second-factor/factor-events.ts";
import { resetFactors } from "../../server/auth/second-factor/reset.ts";
import { audit } from "../../server/permissions/audit.ts";
import { loadManagedUser } from "../../server/permissions/permissions.ts";
import { adminProcedure } from "../../server/trpc.ts";
import { success, ZId, ZSuccess } from "../shared-schema.ts";

export const resetUserFactorsRoute = adminProcedure
  .meta({
    openapi: {
      method: "DELETE",
      path: "/users/{id}/factors",
      tags: ["factors"],
      summary:
        "Reset a user's second factors (all of them, recovery codes too); every session of the user ends",
    },
    errors: ["UNAUTHORIZED", "USER_NOT_FOUND"],
  })
  .input(z.strictObject({ id: ZId }))
  .output(ZSuccess)
  .mutation(async ({ ctx, input }) => {
    const target = await loadManagedUser(ctx.db, ctx.user, input.id);
    // The reset, the end of every session and the audit entry are stored together, or none.
    await ctx.db.transaction().execute(async (tx) => {
      const kinds = await resetFactors(tx, target.id);
      await audit({ ...ctx, db: tx }, "user.factors_reset", { userId: target.id }, { kinds });
      if (kinds.length > 0) await recordSecondFactorsChanged(tx, target.id);
    });
    return success("Second factors reset; every session of the user ended");
  });
