import { createRegistrationOptions } from "../../server/auth/passkeys/index.ts";
import { loadVisibleUser } from "../../server/permissions/permissions.ts";
import { enrolmentProcedure } from "../../server/trpc.ts";
import { ZNoInput } from "../shared-schema.ts";
import { creationOptions, ZCreationOptions } from "./passkey-schema.ts";

export const registrationOptionsRoute = enrolmentProcedure
  .meta({
    openapi: {
      method: "POST",
      path: "/users/me/passkeys/registration-options",
      tags: ["passkeys"],
      summary: "Start registering a passkey (options for navigator.credentials.create)",
      description:
        "The challenge is single-use, bound to the caller, and expires after 5 minutes; asking again replaces it.",
    },
    errors: ["CONFLICT"],
  })
  .input(ZNoInput)
  .output(ZCreationOptions)
  .mutation(async ({ ctx }) => {
    const user = await loadVisibleUser(ctx.db, ctx.user, { id: ctx.user.id });
    return creationOptions(await createRegistrationOptions(ctx.db, ctx.config, user));
  });
