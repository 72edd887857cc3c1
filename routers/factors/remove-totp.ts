import { recordSecondFactorsChanged } from "../../server/auth/second-factor/factor-events.ts";
import { removeFactorKind } from "../../server/auth/second-factor/registry.ts";
import { requireRecentAuth } from "../../server/auth/step-up.ts";
import { AppError } from "../../server/errors/api-errors.ts";
import { authedProcedure } from "../../server/trpc.ts";
import { success, ZNoInput, ZSuccess } from "../shared-schema.ts";

export const removeTotpRoute = authedProcedure
  .meta({
    openapi: {
      method: "DELETE",
      path: "/users/me/factors/totp",
      tags: ["factors"],
      summary:
        "Remove my authenticator app (needs a recent sign-in: STEP_UP_REQUIRED); the recovery codes go too when no other factor is left",
    },
    errors: ["STEP_UP_REQUIRED", "NOT_FOUND"],
  })
  .input(ZNoInput)
  .output(ZSuccess)
  .mutation(async ({ ctx }) => {
    requireRecentAuth(ctx);
    const removed = await ctx.db.transaction().execute(async (tx) => {
      if (!(await removeFactorKind(tx, ctx.user.id, "totp"))) return false;
      await recordSecondFactorsChanged(tx, ctx.user.id);
      return true;
    });
    if (!removed) throw new AppError("NOT_FOUND", "No authenticator app is enrolled");
    return success("Authenticator app removed");
  });
