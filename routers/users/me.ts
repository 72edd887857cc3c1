import { loadVisibleUser } from "../../server/permissions/permissions.ts";
import { authedProcedure } from "../../server/trpc.ts";
import { ZNoInput } from "../shared-schema.ts";
import { toUser, ZUser } from "./user-schema.ts";

export const meRoute = authedProcedure
  .meta({
    openapi: { method: "GET", path: "/users/me", tags: ["users"], summary: "Who am I" },
  })
  .input(ZNoInput)
  .output(ZUser)
  .query(async ({ ctx }) =>
    toUser(await loadVisibleUser(ctx.reader, ctx.user, { id: ctx.user.id })),
  );
