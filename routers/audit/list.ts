import { z } from "zod";
import { listAudit } from "../../db/audit.ts";
import { appAdminProcedure } from "../../server/trpc.ts";
import { ZId, ZPage, ZPageOf } from "../shared-schema.ts";

const ZAuditEntry = z
  .object({
    id: z.number().int(),
    actorId: z.number().int().nullable(),
    action: z.string(),
    targetUserId: z.number().int().nullable(),
    targetOrganizationId: z.number().int().nullable(),
    changes: z.record(z.string(), z.unknown()).nullable(),
    createdAt: z.iso.datetime(),
  })
  .meta({ id: "AuditEntry" });

export const listAuditRoute = appAdminProcedure
  .meta({
    openapi: {
      method: "GET",
      path: "/audit",
      tags: ["audit"],
      summary: "Admin actions, newest first, optionally for one target user or one actor",
    },
    errors: ["INVALID_FILTER", "UNAUTHORIZED"],
  })
  .input(z.strictObject({ ...ZPage, targetUserId: ZId.optional(), actorId: ZId.optional() }))
  .output(ZPageOf(ZAuditEntry))
  .query(async ({ ctx, input }) => {
    const page = await listAudit(ctx.reader, {
      top: input.$top,
      skip: input.$skip,
      targetUserId: input.targetUserId,
      actorId: input.actorId,
    });
    return {
      value: page.rows.map((row) => ({
        id: row.id,
        actorId: row.actor_id,
        action: row.action,
        targetUserId: row.target_user_id,
        targetOrganizationId: row.target_organization_id,
        changes: row.changes,
        createdAt: row.created_at.toISOString(),
      })),
      count: page.count,
    };
  });
