import { z } from "zod";
import { startTotpEnrolment } from "../../server/auth/second-factor/totp-factor.ts";
import { AppError } from "../../server/errors/api-errors.ts";
import { enrolmentProcedure } from "../../server/trpc.ts";
import { ZNoInput } from "../shared-schema.ts";

export const enrolTotpRoute = enrolmentProcedure
  .meta({
    openapi: {
      method: "POST",
      path: "/users/me/factors/totp",
      tags: ["factors"],
      summary:
        "Start enrolling an authenticator app (TOTP): its secret and otpauth:// URI, shown this once; confirm with a first code",
    },
    successStatus: 201,
    errors: ["CONFLICT"],
  })
  .input(ZNoInput)
  .output(
    z
      .object({
        secret: z.string().meta({ description: "Base32, for typing into the app" }),
        otpauthUri: z.string().meta({ description: "For a QR code" }),
      })
      .meta({ id: "TotpEnrolment" }),
  )
  .mutation(async ({ ctx }) => {
    const enrolment = await startTotpEnrolment(ctx, ctx.user);
    if (!enrolment) {
      throw new AppError("CONFLICT", "An authenticator app is already enrolled; remove it first");
    }
    return enrolment;
  });
