import { z } from "zod";
import { listEndpoints } from "../../db/webhooks.ts";
import { appAdminProcedure } from "../../server/trpc.ts";
import { ZPage, ZPageOf } from "../shared-schema.ts";
import { toEndpoint, ZWebhookEndpoint } from "./webhook-schema.ts";

export const listWebhooksRoute = appAdminProcedure
  .meta({
    openapi: {
      method: "GET",
      path: "/webhooks",
      tags: ["webhooks"],
      summary: "List webhook endpoints",
    },
    errors: ["UNAUTHORIZED"],
  })
  .input(z.strictObject(ZPage))
  .output(ZPageOf(ZWebhookEndpoint))
  .query(async ({ ctx, input }) => {
    const page = await listEndpoints(ctx.reader, { top: input.$top, skip: input.$skip });
    return { value: page.rows.map(toEndpoint), count: page.count };
  });
