import { z } from "zod";
import { DELIVERY_STATUSES } from "../../db/database.ts";
import { listDeliveries } from "../../db/webhooks.ts";
import { appAdminProcedure } from "../../server/trpc.ts";
import { ZId } from "../shared-schema.ts";
import { loadEndpoint } from "./webhook-schema.ts";

const ZDelivery = z
  .object({
    id: z.number().int(),
    eventId: z.string(),
    eventType: z.string(),
    status: z.enum(DELIVERY_STATUSES),
    attempts: z.number().int(),
    lastStatusCode: z.number().int().nullable(),
    lastError: z.string().nullable(),
    createdAt: z.iso.datetime(),
    nextAttemptAt: z.iso.datetime().nullable(),
    finishedAt: z.iso.datetime().nullable(),
  })
  .meta({ id: "WebhookDelivery" });

export const listDeliveriesRoute = appAdminProcedure
  .meta({
    openapi: {
      method: "GET",
      path: "/webhooks/{id}/deliveries",
      tags: ["webhooks"],
      summary: "An endpoint's recent deliveries, newest first, with their status and response code",
    },
    errors: ["UNAUTHORIZED", "NOT_FOUND"],
  })
  .input(
    z.strictObject({
      id: ZId,
      status: z.enum(DELIVERY_STATUSES).optional(),
      $top: z.number().int().min(1).max(1000).default(100),
    }),
  )
  .output(z.object({ value: z.array(ZDelivery) }))
  .query(async ({ ctx, input }) => {
    await loadEndpoint(ctx.reader, input.id);
    const rows = await listDeliveries(ctx.reader, input.id, {
      top: input.$top,
      status: input.status,
    });
    return {
      value: rows.map((row) => ({
        ...row,
        id: Number(row.id),
        status: row.status as (typeof DELIVERY_STATUSES)[number],
        createdAt: new Date(row.createdAt).toISOString(),
        nextAttemptAt: row.status === "pending" ? new Date(row.nextAttemptAt).toISOString() : null,
        finishedAt: row.finishedAt ? new Date(row.finishedAt).toISOString() : null,
      })),
    };
  });
