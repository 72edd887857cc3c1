import { z } from "zod";
import { deleteEndpoint } from "../../db/webhooks.ts";
import { audit } from "../../server/permissions/audit.ts";
import { appAdminProcedure } from "../../server/trpc.ts";
import { ZDone, ZId } from "../shared-schema.ts";
import { endpointNotFound } from "./webhook-schema.ts";

export const deleteWebhookRoute = appAdminProcedure
  .meta({
    openapi: {
      method: "DELETE",
      path: "/webhooks/{id}",
      tags: ["webhooks"],
      summary: "Delete a webhook endpoint and its deliveries",
    },
    errors: ["UNAUTHORIZED", "NOT_FOUND"],
  })
  .input(z.strictObject({ id: ZId }))
  .output(ZDone)
  .mutation(async ({ ctx, input }) => {
    await ctx.db.transaction().execute(async (tx) => {
      const result = await deleteEndpoint(tx, input.id);
      if (result.numDeletedRows === 0n) throw endpointNotFound();
      await audit({ ...ctx, db: tx }, "webhook.delete", {}, { endpointId: input.id });
    });
    return { success: true as const };
  });
