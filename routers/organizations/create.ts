import { z } from "zod";
import { insertOrganization } from "../../db/organizations.ts";
import { audit } from "../../server/audit.ts";
import { appAdminProcedure } from "../../server/trpc.ts";
import {
  loadOrganization,
  toOrganization,
  ZOrganization,
  ZOrganizationId,
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
  .input(
    z.strictObject({ name: ZOrganizationName, parentId: ZOrganizationId.nullable().optional() }),
  )
  .output(ZOrganization)
  .mutation(async ({ ctx, input }) => {
    const parentId = input.parentId ?? null;
    if (parentId !== null) await loadOrganization(ctx.db, parentId);
    const organization = await insertOrganization(ctx.db, { name: input.name, parentId });
    await audit(ctx, "organization.create", { organizationId: organization.id }, input);
    return toOrganization(organization);
  });
