import { z } from "zod";
import {
  deleteOrganization,
  lockOrganizationTree,
  organizationHasDependants,
} from "../../db/organizations.ts";
import { audit } from "../../server/audit.ts";
import { AppError } from "../../server/errors.ts";
import { appAdminProcedure } from "../../server/trpc.ts";
import { success, ZSuccess } from "../users/user-schema.ts";
import { organizationNotFound, ZOrganizationId } from "./organization-schema.ts";

export const deleteOrganizationRoute = appAdminProcedure
  .meta({
    openapi: {
      method: "DELETE",
      path: "/organizations/{id}",
      tags: ["organizations"],
      summary: "Delete an empty organization (no children, no members)",
    },
    errors: ["UNAUTHORIZED", "NOT_FOUND", "CONFLICT"],
  })
  .input(z.strictObject({ id: ZOrganizationId }))
  .output(ZSuccess)
  .mutation(async ({ ctx, input }) => {
    await ctx.db.transaction().execute(async (tx) => {
      await lockOrganizationTree(tx);
      if (await organizationHasDependants(tx, input.id)) {
        throw new AppError("CONFLICT", "The organization still has child organizations or members");
      }
      const result = await deleteOrganization(tx, input.id);
      if (result.numDeletedRows === 0n) throw organizationNotFound();
      await audit({ ...ctx, db: tx }, "organization.delete", { organizationId: input.id });
    });
    return success("Organization deleted");
  });
