import { z } from "zod";
import { registerPasskey, ZRegistrationResponse } from "../../server/auth/passkeys/index.ts";
import { enrolmentProcedure } from "../../server/trpc.ts";
import { toPasskey, ZPasskey, ZPasskeyName } from "./passkey-schema.ts";

export const registerPasskeyRoute = enrolmentProcedure
  .meta({
    openapi: {
      method: "POST",
      path: "/users/me/passkeys",
      tags: ["passkeys"],
      summary: "Finish registering a passkey (the browser's attestation)",
    },
    successStatus: 201,
    errors: ["CONFLICT"],
  })
  .input(z.strictObject({ name: ZPasskeyName.default("Passkey"), webauthn: ZRegistrationResponse }))
  .output(ZPasskey)
  .mutation(async ({ ctx, input }) =>
    toPasskey(
      await registerPasskey(ctx.db, ctx.config, {
        userId: ctx.user.id,
        name: input.name,
        response: input.webauthn,
      }),
    ),
  );
