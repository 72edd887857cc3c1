import { z } from "zod";
import { revokeSession } from "../../db/sessions.ts";
import { findTotp } from "../../db/totp-factors.ts";
import { recordSecondFactorsChanged } from "../../server/auth/second-factor/factor-events.ts";
import { issueRecoveryCodes } from "../../server/auth/second-factor/recovery-factor.ts";
import { checkTotpCode } from "../../server/auth/second-factor/totp-factor.ts";
import { requireRecentAuth } from "../../server/auth/step-up.ts";
import { AppError } from "../../server/errors/api-errors.ts";
import { enrolmentProcedure } from "../../server/trpc.ts";
import { ZFactorCode } from "../shared-schema.ts";
import { ZRecoveryCodes } from "./factor-schema.ts";

export const confirmTotpRoute = enrolmentProcedure
  .meta({
    openapi: {
      method: "POST",
      path: "/users/me/factors/totp/confirm",
      tags: ["factors"],
      summary:
        "Confirm the authenticator app with its first code (needs a recent sign-in: STEP_UP_REQUIRED): from now on sign-in asks for a code; answers ten recovery codes, shown this once",
    },
    errors: ["INVALID_SECOND_FACTOR", "STEP_UP_REQUIRED", "CONFLICT"],
  })
  .input(z.strictObject({ code: ZFactorCode }))
  .output(ZRecoveryCodes)
  .mutation(async ({ ctx, input }) => {
    // A stolen access token alone must not put a stranger's authenticator on the account (and
    // lock its owner out of signing in): the factor takes effect only after a recent sign-in.
    requireRecentAuth(ctx);
    const pending = await findTotp(ctx.db, ctx.user.id);
    if (!pending || pending.confirmed_at !== null) {
      throw new AppError(
        "CONFLICT",
        "No enrolment is pending: start one with POST /users/me/factors/totp",
      );
    }
    // The confirmation, the recovery codes and the `user.updated` event are stored together.
    const recoveryCodes = await ctx.db.transaction().execute(async (tx) => {
      if (!(await checkTotpCode({ ...ctx, db: tx }, ctx.user.id, input.code, true))) return;
      const codes = await issueRecoveryCodes(ctx, tx, ctx.user.id);
      await recordSecondFactorsChanged(tx, ctx.user.id);
      return codes;
    });
    if (!recoveryCodes) {
      throw new AppError("INVALID_SECOND_FACTOR", "The code is incorrect or expired");
    }
    // An enrolment-only session has done its work: the admin signs in again, with the code.
    if (ctx.user.enrolmentOnly) await revokeSession(ctx.db, ctx.user.sessionId, ctx.user.id);
    return { recoveryCodes };
  });
