import { z } from "zod";
import { appAdminProcedure } from "../../server/trpc.ts";
import { ZId } from "../shared-schema.ts";
import { loadOrganization, toOrganization, ZOrganization } from "./organization-schema.ts";

export const getOrganizationRoute = appAdminProcedure
  .meta({
    openapi: {
      method: "GET",
      path: "/organizations/{id}",
      tags: ["organizations"],
      summary: "Get an organization",
    },
    errors: ["UNAUTHORIZED", "NOT_FOUND"],
  })
  .input(z.strictObject({ id: ZId }))
  .output(ZOrganization)
  .query(async ({ ctx, input }) => toOrganization(await loadOrganization(ctx.reader, input.id)));
