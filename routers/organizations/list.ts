import { z } from "zod";
import { listOrganizations } from "../../db/organizations.ts";
import { appAdminProcedure } from "../../server/trpc.ts";
import { ZPage, ZPageOf } from "../shared-schema.ts";
import { toOrganization, ZOrganization } from "./organization-schema.ts";

export const listOrganizationsRoute = appAdminProcedure
  .meta({
    openapi: {
      method: "GET",
      path: "/organizations",
      tags: ["organizations"],
      summary: "List organizations",
    },
    errors: ["INVALID_FILTER", "UNAUTHORIZED"],
  })
  .input(z.strictObject(ZPage))
  .output(ZPageOf(ZOrganization))
  .query(async ({ ctx, input }) => {
    const page = await listOrganizations(ctx.reader, { top: input.$top, skip: input.$skip });
    return { value: page.rows.map(toOrganization), count: page.count };
  });
