import { z } from "zod";
import { insertEndpoint } from "../../db/webhooks.ts";
import { audit } from "../../server/permissions/audit.ts";
import { appAdminProcedure } from "../../server/trpc.ts";
import { requireAllowedUrl } from "../../server/webhooks/registration.ts";
import { newSigningSecret } from "../../server/webhooks/signature.ts";
import {
  toEndpoint,
  ZDescription,
  ZEventTypes,
  ZSigningSecret,
  ZWebhookEndpoint,
  ZWebhookUrl,
} from "./webhook-schema.ts";

export const createWebhookRoute = appAdminProcedure
  .meta({
    openapi: {
      method: "POST",
      path: "/webhooks",
      tags: ["webhooks"],
      summary: "Register a webhook endpoint (the signing secret is shown once, in this answer)",
      description:
        "The URL must be https in production and may not point at loopback, private, link-local or other reserved addresses (checked again at each delivery, after DNS resolution) unless WEBHOOKS_ALLOW_PRIVATE=on.",
    },
    successStatus: 201,
    errors: ["UNAUTHORIZED"],
  })
  .input(
    z.strictObject({
      url: ZWebhookUrl,
      eventTypes: ZEventTypes,
      description: ZDescription.optional(),
    }),
  )
  .output(ZWebhookEndpoint.extend({ secret: ZSigningSecret }))
  .mutation(async ({ ctx, input }) => {
    const url = await requireAllowedUrl(ctx.config, input.url);
    const secret = newSigningSecret();
    const endpoint = await ctx.db.transaction().execute(async (tx) => {
      const row = await insertEndpoint(tx, {
        url,
        description: input.description ?? "",
        eventTypes: input.eventTypes,
        secret,
      });
      await audit(
        { ...ctx, db: tx },
        "webhook.create",
        {},
        {
          endpointId: row.id,
          url,
          eventTypes: input.eventTypes,
        },
      );
      return row;
    });
    return { ...toEndpoint(endpoint), secret };
  });
