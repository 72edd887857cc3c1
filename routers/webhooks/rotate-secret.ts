import { z } from "zod";
import { rotateEndpointSecret } from "../../db/webhooks.ts";
import { audit } from "../../server/permissions/audit.ts";
import { appAdminProcedure } from "../../server/trpc.ts";
import { newSigningSecret } from "../../server/webhooks/signature.ts";
import { ZId } from "../shared-schema.ts";
import { endpointNotFound, ZSigningSecret } from "./webhook-schema.ts";

/** How long deliveries carry the old secret's signature beside the new one's. */
const ROTATION_GRACE_SECONDS = 24 * 3600;

export const rotateWebhookSecretRoute = appAdminProcedure
  .meta({
    openapi: {
      method: "POST",
      path: "/webhooks/{id}/secret",
      tags: ["webhooks"],
      summary: "Rotate the signing secret (the new one is shown once, in this answer)",
      description:
        "For 24 hours deliveries carry two signatures in `webhook-signature`, the new secret's first and the old one's second, so the receiver can switch when it likes.",
    },
    errors: ["UNAUTHORIZED", "NOT_FOUND"],
  })
  .input(z.strictObject({ id: ZId }))
  .output(z.object({ id: z.number().int(), secret: ZSigningSecret }))
  .mutation(async ({ ctx, input }) => {
    const secret = newSigningSecret();
    await ctx.db.transaction().execute(async (tx) => {
      const row = await rotateEndpointSecret(tx, input.id, secret, ROTATION_GRACE_SECONDS);
      if (!row) throw endpointNotFound();
      await audit({ ...ctx, db: tx }, "webhook.rotate_secret", {}, { endpointId: input.id });
    });
    return { id: input.id, secret };
  });
