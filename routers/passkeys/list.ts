import { listPasskeys } from "../../db/passkeys.ts";
import { authedProcedure } from "../../server/trpc.ts";
import { ZNoInput } from "../shared-schema.ts";
import { toPasskey, ZPasskeyList } from "./passkey-schema.ts";

export const listPasskeysRoute = authedProcedure
  .meta({
    openapi: {
      method: "GET",
      path: "/users/me/passkeys",
      tags: ["passkeys"],
      summary: "My passkeys",
    },
  })
  .input(ZNoInput)
  .output(ZPasskeyList)
  .query(async ({ ctx }) => ({
    passkeys: (await listPasskeys(ctx.db, ctx.user.id)).map(toPasskey),
  }));
