import { z } from "zod";
import { describeFactors } from "../../server/auth/second-factor/registry.ts";
import { loadManagedUser } from "../../server/permissions/permissions.ts";
import { adminProcedure } from "../../server/trpc.ts";
import { ZId } from "../shared-schema.ts";
import { toFactors, ZFactorList } from "./factor-schema.ts";

export const listUserFactorsRoute = adminProcedure
  .meta({
    openapi: {
      method: "GET",
      path: "/users/{id}/factors",
      tags: ["factors"],
      summary: "A user's second factors (kinds, when added, when last used; never a secret)",
    },
    errors: ["UNAUTHORIZED", "USER_NOT_FOUND"],
  })
  .input(z.strictObject({ id: ZId }))
  .output(ZFactorList)
  .query(async ({ ctx, input }) => {
    const target = await loadManagedUser(ctx.db, ctx.user, input.id);
    return toFactors(await describeFactors(ctx.db, target.id));
  });
