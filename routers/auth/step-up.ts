import { z } from "zod";
import { requireCurrentPassword } from "../../server/auth/current-password.ts";
import { proveSecondFactor } from "../../server/auth/second-factor/prove.ts";
import { listFactorKinds } from "../../server/auth/second-factor/registry.ts";
import { renewAuthentication } from "../../server/auth/sessions.ts";
import { AppError } from "../../server/errors/api-errors.ts";
import { authedProcedure } from "../../server/trpc.ts";
import { ZPassword } from "../shared-schema.ts";
import { isWellFormedProof, proofFields, toProof, ZAccessToken } from "./second-factor-schema.ts";

const ZStepUpInput = z
  .strictObject({
    password: ZPassword.optional(),
    factor: proofFields.factor.optional(),
    code: proofFields.code,
    webauthn: proofFields.webauthn,
  })
  .refine(
    (input) =>
      input.password !== undefined
        ? input.factor === undefined && input.code === undefined && input.webauthn === undefined
        : input.factor !== undefined && isWellFormedProof(input),
    {
      message:
        'Send either password, or factor and code, or factor "passkey" and webauthn (from POST /auth/step-up/passkey-options)',
    },
  )
  .meta({ examples: [{ factor: "totp", code: "492039" }, { password: "my current password" }] });

export const stepUpRoute = authedProcedure
  .meta({
    openapi: {
      method: "POST",
      path: "/auth/step-up",
      tags: ["auth"],
      summary:
        "Prove who I am again (a factor's code or a passkey's assertion; the password only without a second factor): a new access token whose sign-in time is now",
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
    const { password, factor, code, webauthn } = input;
    if (factor !== undefined) {
      await proveSecondFactor(ctx, ctx.user, toProof({ factor, code, webauthn }));
    } else {
      // With a second factor, the password alone no longer proves who signs in, so it cannot
      // stand in for a sign-in here either.
      if ((await listFactorKinds(ctx.db, ctx.user.id)).length > 0) {
        throw new AppError(
          "STEP_UP_REQUIRED",
          "You have a second factor: step up with it (factor and code, or a passkey)",
        );
      }
      await requireCurrentPassword(ctx, ctx.user.id, password as string);
    }
    return renewAuthentication(ctx, ctx.user);
  });
