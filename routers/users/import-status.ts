import { z } from "zod";
import { findImportJob, importRejections } from "../../db/imports.ts";
import { AppError } from "../../server/errors/api-errors.ts";
import { MAX_REPORTED_REJECTIONS } from "../../server/porting/import-job.ts";
import { appAdminProcedure } from "../../server/trpc.ts";
import { ZId } from "../shared-schema.ts";
import { IMPORT_PATHS, toImportJob, ZImportJob } from "./import-schema.ts";

export const importStatusRoute = appAdminProcedure
  .meta({
    openapi: {
      method: "GET",
      path: IMPORT_PATHS.job,
      tags: ["users"],
      summary: "An import job: its status, progress and rejected rows",
    },
    errors: ["UNAUTHORIZED", "NOT_FOUND"],
  })
  .input(z.strictObject({ jobId: ZId }))
  .output(ZImportJob)
  .query(async ({ ctx, input }) => {
    const job = await findImportJob(ctx.db, input.jobId);
    if (!job) throw new AppError("NOT_FOUND", "Import job not found");
    return toImportJob(job, await importRejections(ctx.db, job.id, MAX_REPORTED_REJECTIONS));
  });
