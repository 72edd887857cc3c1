import { z } from "zod";
import { insertOrganization } from "../../db/organizations.ts";
import { audit } from "../../server/permissions/audit.ts";
import { appAdminProcedure } from "../../server/trpc.ts";
import { ZId } from "../shared-schema.ts";
import { recordOrganizationEvent } from "./organization-events.ts";
import {
  lockExistingOrganization,
  toOrganization,
  ZOrganization,
  ZOrganizationName,
} from "./organization-schema.ts";

export const createOrganizationRoute = appAdminProcedure
  .meta({
    openapi: {
      method: "POST",
      path: "/organizations",
      tags: ["organizations"],
      summary: "Create an organization",
    },
    successStatus: 201,
    errors: ["UNAUTHORIZED", "NOT_FOUND"],
  })
  .input(z.strictObject({ name: ZOrganizationName, parentId: ZId.nullable().optional() }))
  .output(ZOrganization)
  .mutation(async ({ ctx, input }) => {
    const parentId = input.parentId ?? null;
    const organization = await ctx.db.transaction().execute(async (tx) => {
      // The parent stays locked until the child is stored: a concurrent delete of it waits.
      if (parentId !== null) await lockExistingOrganization(tx, parentId, "forReference");
      const created = await insertOrganization(tx, { name: input.name, parentId });
      await audit({ ...ctx, db: tx }, "organization.create", { organizationId: created.id }, input);
      await recordOrganizationEvent(tx, "organization.created", created);
      return created;
    });
    return toOrganization(organization);
  });
