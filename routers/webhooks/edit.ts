import { z } from "zod";
import { notifyWebhooksQueued } from "../../db/events.ts";
import { updateEndpoint } from "../../db/webhooks.ts";
import { audit } from "../../server/permissions/audit.ts";
import { appAdminProcedure } from "../../server/trpc.ts";
import { requireAllowedUrl } from "../../server/webhooks/registration.ts";
import { ZId } from "../shared-schema.ts";
import {
  endpointNotFound,
  toEndpoint,
  ZDescription,
  ZEventTypes,
  ZWebhookEndpoint,
  ZWebhookUrl,
} from "./webhook-schema.ts";

export const editWebhookRoute = appAdminProcedure
  .meta({
    openapi: {
      method: "PATCH",
      path: "/webhooks/{id}",
      tags: ["webhooks"],
      summary: "Change a webhook endpoint, or disable / enable it",
      description:
        "`enabled: false` stops deliveries (pending ones wait; no new ones are queued); `enabled: true` resumes them and clears the reason it was disabled for.",
    },
    errors: ["UNAUTHORIZED", "NOT_FOUND"],
  })
  .input(
    z.strictObject({
      id: ZId,
      url: ZWebhookUrl.optional(),
      eventTypes: ZEventTypes.optional(),
      description: ZDescription.optional(),
      enabled: z.boolean().optional(),
    }),
  )
  .output(ZWebhookEndpoint)
  .mutation(async ({ ctx, input }) => {
    const { id, ...changes } = input;
    const url =
      changes.url === undefined ? undefined : await requireAllowedUrl(ctx.config, changes.url);
    const row = await ctx.db.transaction().execute(async (tx) => {
      const updated = await updateEndpoint(tx, id, { ...changes, url });
      if (!updated) throw endpointNotFound();
      await audit({ ...ctx, db: tx }, "webhook.edit", {}, { endpointId: id, ...changes, url });
      // Deliveries that waited while it was disabled are due now.
      if (changes.enabled) await notifyWebhooksQueued(tx);
      return updated;
    });
    return toEndpoint(row);
  });
