import { z } from "zod";
import {
  isSelfOrAncestor,
  lockOrganizationTree,
  updateOrganization,
} from "../../db/organizations.ts";
import { AppError } from "../../server/errors/api-errors.ts";
import { audit } from "../../server/permissions/audit.ts";
import { appAdminProcedure } from "../../server/trpc.ts";
import { ZId } from "../shared-schema.ts";
import { recordOrganizationEvent } from "./organization-events.ts";
import {
  lockExistingOrganization,
  organizationNotFound,
  toOrganization,
  ZOrganization,
  ZOrganizationName,
} from "./organization-schema.ts";

export const editOrganizationRoute = appAdminProcedure
  .meta({
    openapi: {
      method: "PATCH",
      path: "/organizations/{id}",
      tags: ["organizations"],
      summary: "Rename an organization or move it under another parent (null: a root)",
    },
    errors: ["UNAUTHORIZED", "NOT_FOUND", "CONFLICT"],
  })
  .input(
    z.strictObject({
      id: ZId,
      name: ZOrganizationName.optional(),
      parentId: ZId.nullable().optional(),
    }),
  )
  .output(ZOrganization)
  .mutation(async ({ ctx, input }) => {
    const updated = await ctx.db.transaction().execute(async (tx) => {
      if (input.parentId !== undefined && input.parentId !== null) {
        await lockOrganizationTree(tx);
        // The new parent stays locked until the move is stored: a concurrent delete of it waits.
        await lockExistingOrganization(tx, input.parentId, "forReference");
        if (await isSelfOrAncestor(tx, input.id, input.parentId)) {
          throw new AppError(
            "CONFLICT",
            "That parent would make the organization its own ancestor",
          );
        }
      }
      const { id, ...changes } = input;
      // Not found rolls back: no audit entry for an organization that is not there.
      const row = await updateOrganization(tx, id, changes);
      if (!row) throw organizationNotFound();
      await audit({ ...ctx, db: tx }, "organization.edit", { organizationId: id }, changes);
      await recordOrganizationEvent(tx, "organization.updated", row, Object.keys(changes));
      return row;
    });
    return toOrganization(updated);
  });
