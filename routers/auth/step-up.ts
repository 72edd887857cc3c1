import { z } from "zod";
import { requireCurrentPassword } from "../../server/auth/current-password.ts";
import { proveSecondFactor } from "../../server/auth/second-factor/prove.ts";
import { listFactorKinds } from "../../server/auth/second-factor/registry.ts";
import { renewAuthentication } from "../../server/auth/sessions.ts";
import { AppError } from "../../server/errors/api-errors.ts";
import { authedProcedure } from "../../server/trpc.ts";
import { ZFactorCode, ZPassword } from "../shared-schema.ts";
import { ZAccessToken, ZFactorKind } from "./second-factor-schema.ts";

const ZStepUpInput = z
  .strictObject({
    password: ZPassword.optional(),
    factor: ZFactorKind.optional(),
    code: ZFactorCode.optional(),
  })
  .refine(
    (input) =>
      input.password !== undefined
        ? input.factor === undefined && input.code === undefined
        : input.factor !== undefined && input.code !== undefined,
    { message: "Send either password, or factor and code" },
  )
  .meta({ examples: [{ factor: "totp", code: "492039" }, { password: "my current password" }] });

export const stepUpRoute = authedProcedure
  .meta({
    openapi: {
      method: "POST",
      path: "/auth/step-up",
      tags: ["auth"],
      summary:
        "Prove who I am again (a factor's code; the password only without a second factor): a new access token whose sign-in time is now",
    },
    errors: [
      "INVALID_CURRENT_PASSWORD",
      "INVALID_SECOND_FACTOR",
      "STEP_UP_REQUIRED",
      "RATE_LIMITED",
    ],
  })
  .input(ZStepUpInput)
  .output(ZAccessToken)
  .mutation(async ({ ctx, input }) => {
    if (input.factor !== undefined && input.code !== undefined) {
      await proveSecondFactor(ctx, ctx.user, { factor: input.factor, code: input.code });
    } else {
      // With a second factor, the password alone no longer proves who signs in, so it cannot
      // stand in for a sign-in here either.
      if ((await listFactorKinds(ctx.db, ctx.user.id)).length > 0) {
        throw new AppError(
          "STEP_UP_REQUIRED",
          "You have a second factor: step up with one of its codes (factor and code)",
        );
      }
      await requireCurrentPassword(ctx, ctx.user.id, input.password as string);
    }
    return renewAuthentication(ctx, ctx.user);
  });
