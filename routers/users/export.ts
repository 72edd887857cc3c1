import { z } from "zod";
import type { Caller } from "../../server/auth/authenticate.ts";
import type { Context } from "../../server/context.ts";
import { audit } from "../../server/permissions/audit.ts";
import { type ExportedRow, exportUserPages } from "../../server/porting/export-users.ts";
import { appAdminProcedure } from "../../server/trpc.ts";
import { ZListUsersInput } from "./list.ts";
import { toUser, ZUser } from "./user-schema.ts";

export const EXPORT_PATH = "/users/export";

export const ZExportInput = z.strictObject({
  $filter: ZListUsersInput.shape.$filter,
  includePasswordHashes: z
    .boolean()
    .default(false)
    .meta({ description: "Adds each user's stored password hash (audited as such)" }),
  $skiptoken: ZListUsersInput.shape.$skiptoken,
});

export const ZExportedUser = ZUser.extend({
  passwordHash: z
    .string()
    .nullable()
    .optional()
    .meta({ description: "Only with includePasswordHashes; null for a user without password" }),
}).meta({ id: "ExportedUser" });

/** One exported user as both doors write it (a line of the REST NDJSON, an item on tRPC). */
export const toExportedUser = (row: ExportedRow): z.infer<typeof ZExportedUser> =>
  row.password_hash === undefined
    ? toUser(row)
    : { ...toUser(row), passwordHash: row.password_hash };

/** Every export is audited, with its filter and whether it carried password hashes. */
export const auditExport = (
  ctx: Pick<Context, "db"> & { user: Caller },
  input: { $filter?: string | undefined; includePasswordHashes: boolean },
) =>
  audit(
    ctx,
    "user.export",
    {},
    { filter: input.$filter, withPasswordHashes: input.includePasswordHashes },
  );

export const exportUsersRoute = appAdminProcedure
  .meta({
    rawRoute: true,
    openapi: {
      method: "GET",
      path: EXPORT_PATH,
      tags: ["users"],
      summary: "Export users as NDJSON (optionally filtered; password hashes only when asked)",
      description:
        "REST: `application/x-ndjson`, one user a line, every user the `$filter` selects (the listing's language; deleted users only when it asks for `status eq 'deleted'`), streamed in id order with constant memory. Native tRPC: a page of 1000 with `next` to continue. `includePasswordHashes=true` adds `passwordHash`; every export is audited (`user.export`, with the filter and the flag).",
    },
    errors: ["UNAUTHORIZED", "INVALID_FILTER"],
  })
  .input(ZExportInput)
  .output(
    z.object({
      value: z.array(ZExportedUser),
      next: ZExportInput.required({ $skiptoken: true }).optional(),
    }),
  )
  .query(async ({ ctx, input }) => {
    const pages = exportUserPages(ctx.db, {
      filter: input.$filter,
      cursorKey: ctx.tokens.cursorKey,
      withHashes: input.includePasswordHashes,
      cursor: input.$skiptoken,
    });
    const first = await pages.next();
    await pages.return(undefined);
    if (input.$skiptoken === undefined || input.includePasswordHashes)
      await auditExport(ctx, input);
    const page = first.done ? { rows: [], nextCursor: undefined } : first.value;
    return {
      value: page.rows.map(toExportedUser),
      ...(page.nextCursor && { next: { ...input, $skiptoken: page.nextCursor } }),
    };
  });
