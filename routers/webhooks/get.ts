import { z } from "zod";
import { appAdminProcedure } from "../../server/trpc.ts";
import { ZId } from "../shared-schema.ts";
import { loadEndpoint, toEndpoint, ZWebhookEndpoint } from "./webhook-schema.ts";

export const getWebhookRoute = appAdminProcedure
  .meta({
    openapi: {
      method: "GET",
      path: "/webhooks/{id}",
      tags: ["webhooks"],
      summary: "Get a webhook endpoint",
    },
    errors: ["UNAUTHORIZED", "NOT_FOUND"],
  })
  .input(z.strictObject({ id: ZId }))
  .output(ZWebhookEndpoint)
  .query(async ({ ctx, input }) => toEndpoint(await loadEndpoint(ctx.reader, input.id)));
