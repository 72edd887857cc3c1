import type { Kysely } from "kysely";
import { z } from "zod";
import type { Database } from "../../db/database.ts";
import { EVENT_TYPES } from "../../db/events.ts";
import { type EndpointRow, findEndpoint } from "../../db/webhooks.ts";
import { AppError } from "../../server/errors/api-errors.ts";
import { ZText } from "../shared-schema.ts";

export const ZEventType = z.enum(EVENT_TYPES);

export const ZWebhookUrl = z
  .string()
  .trim()
  .min(1)
  .max(2000)
  .meta({ example: "https://hooks.example.com/users-api" });

export const ZEventTypes = z
  .array(ZEventType)
  .min(1)
  .max(EVENT_TYPES.length)
  .transform((types) => [...new Set(types)]);

export const ZDescription = ZText(500);

export const ZWebhookEndpoint = z
  .object({
    id: z.number().int(),
    url: z.string(),
    description: z.string(),
    eventTypes: z.array(z.string()),
    enabled: z.boolean(),
    disabledReason: z.string().nullable(),
    failingSince: z.iso.datetime().nullable(),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .meta({ id: "WebhookEndpoint" });

/** The signing secret, shown once (at registration and at rotation). */
export const ZSigningSecret = z.string().meta({
  description:
    "The signing secret (`whsec_` + base64 key, as Standard Webhooks): shown only now; store it to verify `webhook-signature`.",
});

export const toEndpoint = (row: EndpointRow): z.infer<typeof ZWebhookEndpoint> => ({
  id: row.id,
  url: row.url,
  description: row.description,
  eventTypes: row.event_types,
  enabled: row.enabled,
  disabledReason: row.disabled_reason,
  failingSince: row.failing_since?.toISOString() ?? null,
  createdAt: row.created_at.toISOString(),
  updatedAt: row.updated_at.toISOString(),
});

export const endpointNotFound = () => new AppError("NOT_FOUND", "No such webhook endpoint");

export async function loadEndpoint(db: Kysely<Database>, id: number): Promise<EndpointRow> {
  const endpoint = await findEndpoint(db, id);
  if (!endpoint) throw endpointNotFound();
  return endpoint;
}
