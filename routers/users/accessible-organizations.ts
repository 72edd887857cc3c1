import { z } from "zod";
import { accessibleOrganizations } from "../../db/organizations.ts";
import { loadVisibleUser, requireSelfOrAdmin } from "../../server/permissions/permissions.ts";
import { authedProcedure } from "../../server/trpc.ts";
import { ZId, ZMembershipRole } from "../shared-schema.ts";

export const accessibleOrganizationsRoute = authedProcedure
  .meta({
    openapi: {
      method: "GET",
      path: "/users/{id}/accessible-organizations",
      tags: ["users"],
      summary:
        "Organizations the user can reach, with the role inherited from the nearest membership",
    },
    errors: ["UNAUTHORIZED", "USER_NOT_FOUND"],
  })
  .input(z.strictObject({ id: ZId }))
  .output(
    z.object({
      organizations: z.array(
        z.object({ id: z.number().int(), name: z.string(), role: ZMembershipRole }),
      ),
    }),
  )
  .query(async ({ ctx, input }) => {
    requireSelfOrAdmin(ctx.user, input.id);
    const user = await loadVisibleUser(ctx.db, ctx.user, { id: input.id });
    return { organizations: await accessibleOrganizations(ctx.db, user.id) };
  });
