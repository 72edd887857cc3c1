import { z } from "zod";
import type { Caller } from "../../server/auth/authenticate.ts";
import type { Context } from "../../server/context.ts";
import type { ImportFormat } from "../../server/porting/import-file.ts";
import { receiveImport } from "../../server/porting/import-job.ts";
import { appAdminProcedure } from "../../server/trpc.ts";
import {
  IMPORT_PATHS,
  toImportJob,
  validateImportRow,
  ZImportFormat,
  ZImportJob,
} from "./import-schema.ts";

/** What the native door carries in one JSON body; the REST door streams files of any size. */
export const MAX_NATIVE_IMPORT_CHARS = 8 * 1024 * 1024;

export const importUsersRoute = appAdminProcedure
  .meta({
    rawRoute: true,
    openapi: {
      method: "POST",
      path: IMPORT_PATHS.upload,
      tags: ["users"],
      summary: "Import users from an NDJSON or CSV file (a background job; poll its status)",
      description:
        "REST: the file is the body (`Content-Type: application/x-ndjson` or `text/csv`), streamed, at most IMPORT_MAX_BYTES; `?format=ndjson|csv` (else from the content type) and `?dryRun=true`. Native tRPC: `{format, dryRun, content}` with the file as text (at most 8 MiB, and over HTTP within BODY_LIMIT_BYTES like every tRPC body: send files to the REST door). Each row is checked like an admin create; rows are stored 500 per statement, each with its memberships or not at all; duplicates (by email or username, in the file or in the database) are rejected per row. Answers 202 with the job; `GET /users/import/{jobId}` tells its progress and the rejected rows. README, 'Importing users', documents the columns and the accepted password hashes.",
    },
    successStatus: 202,
    errors: ["UNAUTHORIZED", "PAYLOAD_TOO_LARGE", "UNSUPPORTED_MEDIA_TYPE"],
  })
  .input(
    z.strictObject({
      format: ZImportFormat,
      dryRun: z.boolean().default(false),
      content: z.string().max(MAX_NATIVE_IMPORT_CHARS),
    }),
  )
  .output(ZImportJob)
  .mutation(({ ctx, input }) => startImport(ctx, ctx.user, { ...input, body: [input.content] }));

/**
 * Both doors' import: stages the body as it arrives, then runs the job in the background and
 * answers with it (the REST door passes the request stream, the native door the text).
 */
export async function startImport(
  ctx: Pick<Context, "db" | "config" | "imports">,
  caller: Caller,
  upload: {
    format: ImportFormat;
    dryRun: boolean;
    body: Parameters<typeof receiveImport>[1]["body"];
  },
) {
  const job = await receiveImport(ctx.db, {
    ...upload,
    createdBy: caller.id,
    maxBytes: ctx.config.IMPORT_MAX_BYTES,
    validate: validateImportRow,
  });
  ctx.imports.start(job.id);
  return toImportJob(job, []);
}
