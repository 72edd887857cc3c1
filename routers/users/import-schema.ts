import { z } from "zod";
import type { ImportJob } from "../../db/imports.ts";
import { zodIssues } from "../../server/errors/api-errors.ts";
import { isVerifiableHash } from "../../server/passwords/hash.ts";
import type { ImportRow, ValidateImportRow } from "../../server/porting/import-row.ts";
import { ZEmail, ZId, ZMembershipRole } from "../shared-schema.ts";
import { ZCreateUserInput } from "./create.ts";
import { ZUsername } from "./user-schema.ts";

/** The import operations' paths (the procedures' meta and the streaming route read them here). */
export const IMPORT_PATHS = { upload: "/users/import", job: "/users/import/{jobId}" } as const;

/**
 * One row of an import file: an admin create's fields (username required), and instead of a
 * password an optional hash in one of the accepted formats; memberships optional.
 */
const ZImportRow = ZCreateUserInput.omit({ password: true })
  .extend({
    email: ZEmail,
    username: ZUsername,
    emailVerified: z.boolean().default(false),
    passwordHash: z
      .string()
      .max(400)
      .refine(isVerifiableHash, "Not an accepted password hash (format or cost)")
      .optional(),
    memberships: z
      .array(z.strictObject({ organizationId: ZId, role: ZMembershipRole }))
      .max(20)
      .refine(
        (list) => new Set(list.map((m) => m.organizationId)).size === list.length,
        "An organization is listed twice",
      )
      .default([]),
  })
  .strict();

export const validateImportRow: ValidateImportRow = (fields) => {
  const parsed = ZImportRow.safeParse(fields);
  if (parsed.success) return { row: parsed.data satisfies ImportRow };
  const issue = zodIssues(parsed.error)[0];
  return {
    error: `VALIDATION_ERROR: ${issue ? `${issue.path}: ${issue.message}` : "Invalid row"}`,
  };
};

export const ZImportFormat = z.enum(["ndjson", "csv"]);

export const ZImportJob = z
  .object({
    jobId: z.number().int(),
    status: z.enum(["receiving", "queued", "running", "succeeded", "failed"]),
    format: ZImportFormat,
    dryRun: z.boolean().meta({ description: "A dry run checks every row and writes no user" }),
    totalRows: z.number().int(),
    processedRows: z.number().int(),
    importedRows: z
      .number()
      .int()
      .meta({ description: "Users stored (on a dry run: users that would be stored)" }),
    rejectedRows: z.number().int(),
    rejections: z
      .array(
        z.object({
          line: z.number().int().meta({ description: "Line of the file where the row starts" }),
          code: z.string().meta({ example: "EMAIL_TAKEN" }),
          reason: z.string(),
        }),
      )
      .meta({ description: "The first 1000 rejected rows, in file order" }),
    error: z.string().nullable().meta({ description: "Why a failed job failed" }),
    createdAt: z.iso.datetime(),
    finishedAt: z.iso.datetime().nullable(),
  })
  .meta({ id: "ImportJob" });

export const toImportJob = (
  job: ImportJob,
  rejections: { line: number; error: string | null }[],
): z.infer<typeof ZImportJob> => ({
  jobId: job.id,
  status: job.status,
  format: job.format,
  dryRun: job.dry_run,
  totalRows: job.total_rows,
  processedRows: job.processed_rows,
  importedRows: job.imported_rows,
  rejectedRows: job.rejected_rows,
  rejections: rejections.map(({ line, error }) => {
    const [code = "VALIDATION_ERROR", ...rest] = (error ?? "").split(": ");
    return { line, code, reason: rest.join(": ") };
  }),
  error: job.error,
  createdAt: job.created_at.toISOString(),
  finishedAt: job.finished_at?.toISOString() ?? null,
});
