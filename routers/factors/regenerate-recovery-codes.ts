import { recordSecondFactorsChanged } from "../../server/auth/second-factor/factor-events.ts";
import { issueRecoveryCodes } from "../../server/auth/second-factor/recovery-factor.ts";
import { listFactorKinds } from "../../server/auth/second-factor/registry.ts";
import { requireRecentAuth } from "../../server/auth/step-up.ts";
import { AppError } from "../../server/errors/api-errors.ts";
import { authedProcedure } from "../../server/trpc.ts";
import { ZNoInput } from "../shared-schema.ts";
import { ZRecoveryCodes } from "./factor-schema.ts";

export const regenerateRecoveryCodesRoute = authedProcedure
  .meta({
    openapi: {
      method: "POST",
      path: "/users/me/factors/recovery-codes",
      tags: ["factors"],
      summary:
        "Replace my recovery codes with ten new ones, shown this once (needs a recent sign-in: STEP_UP_REQUIRED)",
    },
    errors: ["STEP_UP_REQUIRED", "CONFLICT"],
  })
  .input(ZNoInput)
  .output(ZRecoveryCodes)
  .mutation(async ({ ctx }) => {
    requireRecentAuth(ctx);
    const recoveryCodes = await ctx.db.transaction().execute(async (tx) => {
      if ((await listFactorKinds(tx, ctx.user.id)).length === 0) return undefined;
      const codes = await issueRecoveryCodes(ctx, tx, ctx.user.id);
      await recordSecondFactorsChanged(tx, ctx.user.id);
      return codes;
    });
    if (!recoveryCodes) {
      throw new AppError("CONFLICT", "Recovery codes back up a second factor: enrol one first");
    }
    return { recoveryCodes };
  });
