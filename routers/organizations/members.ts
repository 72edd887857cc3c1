import { z } from "zod";
import { deleteMembership, listMembers, upsertMembership } from "../../db/organizations.ts";
import { AppError } from "../../server/errors/api-errors.ts";
import { audit } from "../../server/permissions/audit.ts";
import { loadVisibleUser } from "../../server/permissions/permissions.ts";
import { appAdminProcedure } from "../../server/trpc.ts";
import { ZUserId } from "../users/user-schema.ts";
import {
  loadOrganization,
  lockExistingOrganization,
  ZMembershipRole,
  ZOrganizationId,
  ZPage,
} from "./organization-schema.ts";

const ZMembership = z
  .object({
    organizationId: z.number().int(),
    userId: z.number().int(),
    role: ZMembershipRole,
    createdAt: z.iso.datetime(),
  })
  .meta({ id: "Membership" });

export const putMemberRoute = appAdminProcedure
  .meta({
    openapi: {
      method: "PUT",
      path: "/organizations/{id}/members/{userId}",
      tags: ["organizations"],
      summary: "Add a member or change their role",
    },
    errors: ["UNAUTHORIZED", "NOT_FOUND", "USER_NOT_FOUND"],
  })
  .input(z.strictObject({ id: ZOrganizationId, userId: ZUserId, role: ZMembershipRole }))
  .output(ZMembership)
  .mutation(async ({ ctx, input }) => {
    const row = await ctx.db.transaction().execute(async (tx) => {
      // Locked until the membership is stored: a concurrent delete of the organization waits.
      await lockExistingOrganization(tx, input.id, "forReference");
      await loadVisibleUser(tx, ctx.user, { id: input.userId });
      const membership = await upsertMembership(tx, {
        userId: input.userId,
        organizationId: input.id,
        role: input.role,
      });
      await audit(
        { ...ctx, db: tx },
        "membership.put",
        { userId: input.userId, organizationId: input.id },
        { role: input.role },
      );
      return membership;
    });
    return {
      organizationId: row.organization_id,
      userId: row.user_id,
      role: row.role,
      createdAt: row.created_at.toISOString(),
    };
  });

export const deleteMemberRoute = appAdminProcedure
  .meta({
    openapi: {
      method: "DELETE",
      path: "/organizations/{id}/members/{userId}",
      tags: ["organizations"],
      summary: "Remove a member",
    },
    errors: ["UNAUTHORIZED", "NOT_FOUND"],
  })
  .input(z.strictObject({ id: ZOrganizationId, userId: ZUserId }))
  .output(z.object({ success: z.literal(true) }))
  .mutation(async ({ ctx, input }) => {
    // The row count decides: of concurrent removals one removes and audits, the others get 404.
    await ctx.db.transaction().execute(async (tx) => {
      const result = await deleteMembership(tx, input.userId, input.id);
      if (result.numDeletedRows === 0n) throw new AppError("NOT_FOUND", "No such membership");
      await audit({ ...ctx, db: tx }, "membership.delete", {
        userId: input.userId,
        organizationId: input.id,
      });
    });
    return { success: true as const };
  });

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
  .input(z.strictObject({ id: ZOrganizationId, ...ZPage }))
  .output(
    z.object({
      value: z.array(
        z.object({
          userId: z.number().int(),
          email: z.string(),
          username: z.string(),
          status: z.string(),
          role: ZMembershipRole,
          createdAt: z.iso.datetime(),
        }),
      ),
      count: z.number().int(),
    }),
  )
  .query(async ({ ctx, input }) => {
    await loadOrganization(ctx.db, input.id);
    const page = await listMembers(ctx.db, input.id, { top: input.$top, skip: input.$skip });
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
