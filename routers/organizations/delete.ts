import { z } from "zod";
import { deleteOrganization, organizationHasDependants } from "../../db/organizations.ts";
import { AppError } from "../../server/errors/api-errors.ts";
import { audit } from "../../server/permissions/audit.ts";
import { appAdminProcedure } from "../../server/trpc.ts";
import { success, ZId, ZSuccess } from "../shared-schema.ts";
import { recordOrganizationEvent } from "./organization-events.ts";
import { lockExistingOrganization } from "./organization-schema.ts";

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
  .input(z.strictObject({ id: ZId }))
  .output(ZSuccess)
  .mutation(async ({ ctx, input }) => {
    await ctx.db.transaction().execute(async (tx) => {
      // Locked before the emptiness check: an add-member or create-child that locked it first
      // has committed by now (and is seen), one that comes later waits and then finds it gone.
      const organization = await lockExistingOrganization(tx, input.id, "forDelete");
      if (await organizationHasDependants(tx, input.id)) {
        throw new AppError("CONFLICT", "The organization still has child organizations or members");
      }
      await deleteOrganization(tx, input.id);
      await audit({ ...ctx, db: tx }, "organization.delete", { organizationId: input.id });
      await recordOrganizationEvent(tx, "organization.deleted", organization);
    });
    return success("Organization deleted");
  });
