import { z } from "zod";
import {
  isSelfOrAncestor,
  lockOrganizationTree,
  updateOrganization,
} from "../../db/organizations.ts";
import { audit } from "../../server/audit.ts";
import { AppError } from "../../server/errors.ts";
import { appAdminProcedure } from "../../server/trpc.ts";
import {
  loadOrganization,
  organizationNotFound,
  toOrganization,
  ZOrganization,
  ZOrganizationId,
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
      id: ZOrganizationId,
      name: ZOrganizationName.optional(),
      parentId: ZOrganizationId.nullable().optional(),
    }),
  )
  .output(ZOrganization)
  .mutation(async ({ ctx, input }) => {
    const updated = await ctx.db.transaction().execute(async (tx) => {
      if (input.parentId !== undefined && input.parentId !== null) {
        await lockOrganizationTree(tx);
        await loadOrganization(tx, input.parentId);
        if (await isSelfOrAncestor(tx, input.id, input.parentId)) {
          throw new AppError(
            "CONFLICT",
            "That parent would make the organization its own ancestor",
          );
        }
      }
      const { id, ...changes } = input;
      await audit({ ...ctx, db: tx }, "organization.edit", { organizationId: id }, changes);
      return updateOrganization(tx, id, changes);
    });
    if (!updated) throw organizationNotFound();
    return toOrganization(updated);
  });
