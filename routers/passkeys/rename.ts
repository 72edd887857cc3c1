import { z } from "zod";
import { renamePasskey } from "../../db/passkeys.ts";
import { AppError } from "../../server/errors/api-errors.ts";
import { authedProcedure } from "../../server/trpc.ts";
import { ZId } from "../shared-schema.ts";
import { toPasskey, ZPasskey, ZPasskeyName } from "./passkey-schema.ts";

export const renamePasskeyRoute = authedProcedure
  .meta({
    openapi: {
      method: "PATCH",
      path: "/users/me/passkeys/{id}",
      tags: ["passkeys"],
      summary: "Rename one of my passkeys",
    },
    errors: ["NOT_FOUND"],
  })
  .input(z.strictObject({ id: ZId, name: ZPasskeyName }))
  .output(ZPasskey)
  .mutation(async ({ ctx, input }) => {
    const row = await renamePasskey(ctx.db, ctx.user.id, input.id, input.name);
    if (!row) throw new AppError("NOT_FOUND", "No such passkey");
    return toPasskey(row);
  });
