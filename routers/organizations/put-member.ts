import { z } from "zod";
import { upsertMembership } from "../../db/organizations.ts";
import { audit } from "../../server/permissions/audit.ts";
import { loadVisibleUser } from "../../server/permissions/permissions.ts";
import { appAdminProcedure } from "../../server/trpc.ts";
import { ZId, ZMembershipRole } from "../shared-schema.ts";
import { recordMembershipEvent } from "./organization-events.ts";
import { lockExistingOrganization } from "./organization-schema.ts";

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
  .input(z.strictObject({ id: ZId, userId: ZId, role: ZMembershipRole }))
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
      await recordMembershipEvent(
        tx,
        membership.created ? "membership.created" : "membership.updated",
        {
          organizationId: input.id,
          userId: input.userId,
          role: membership.role,
        },
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
