import { z } from "zod";
import { listPasskeys } from "../../db/passkeys.ts";
import { loadManagedUser } from "../../server/permissions/permissions.ts";
import { adminProcedure } from "../../server/trpc.ts";
import { ZId } from "../shared-schema.ts";
import { toPasskey, ZPasskeyList } from "./passkey-schema.ts";

export const userPasskeysRoute = adminProcedure
  .meta({
    openapi: {
      method: "GET",
      path: "/users/{id}/passkeys",
      tags: ["passkeys"],
      summary: "A user's passkeys (names and dates, never keys)",
      description: "Admin for a User; AppAdmin for anyone.",
    },
    errors: ["UNAUTHORIZED", "USER_NOT_FOUND"],
  })
  .input(z.strictObject({ id: ZId }))
  .output(ZPasskeyList)
  .query(async ({ ctx, input }) => {
    const target = await loadManagedUser(ctx.db, ctx.user, input.id);
    return { passkeys: (await listPasskeys(ctx.db, target.id)).map(toPasskey) };
  });
