import { describeFactors } from "../../server/auth/second-factor/registry.ts";
import { authedProcedure } from "../../server/trpc.ts";
import { ZNoInput } from "../shared-schema.ts";
import { toFactors, ZFactorList } from "./factor-schema.ts";

export const listMyFactorsRoute = authedProcedure
  .meta({
    openapi: {
      method: "GET",
      path: "/users/me/factors",
      tags: ["factors"],
      summary: "My second factors (kinds, when added, when last used; never a secret)",
    },
  })
  .input(ZNoInput)
  .output(ZFactorList)
  .query(async ({ ctx }) => toFactors(await describeFactors(ctx.db, ctx.user.id)));
