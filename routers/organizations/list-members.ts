import { z } from "zod";
import { listMembers } from "../../db/organizations.ts";
import { appAdminProcedure } from "../../server/trpc.ts";
import { ZId, ZMembershipRole, ZPage, ZPageOf } from "../shared-schema.ts";
import { loadOrganization } from "./organization-schema.ts";

export const listMembersRoute = appAdminProcedure
  .meta({
    openapi: {
      method: "GET",
      path: "/organizations/{id}/members",
      tags: ["organizations"],
      summary: "List an organization's direct members",
    },
    errors: ["INVALID_FILTER", "UNAUTHORIZED", "NOT_FOUND"],
  })
  .input(z.strictObject({ id: ZId, ...ZPage }))
  .output(
    ZPageOf(
      z.object({
        userId: z.number().int(),
        email: z.string(),
        username: z.string(),
        status: z.string(),
        role: ZMembershipRole,
        createdAt: z.iso.datetime(),
      }),
    ),
  )
  .query(async ({ ctx, input }) => {
    await loadOrganization(ctx.reader, input.id);
    const page = await listMembers(ctx.reader, input.id, { top: input.$top, skip: input.$skip });
    return {
      value: page.rows.map((row) => ({
        userId: row.user_id,
        email: row.email,
        username: row.username,
        status: row.status,
        role: row.role,
        createdAt: row.created_at.toISOString(),
      })),
      count: page.count,
    };
  });
