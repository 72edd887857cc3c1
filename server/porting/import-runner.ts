import type { FastifyBaseLogger } from "fastify";
import type { Kysely } from "kysely";
import type { Database } from "../../db/database.ts";
import {
  analyzeUsers,
  claimImportJob,
  failImportJob,
  failStaleUploads,
  findImportJob,
  finishImportJob,
  type ImportJob,
} from "../../db/imports.ts";
import type { Config } from "../config.ts";
import { isDatabaseUnavailable } from "../errors/driver-errors.ts";
import { ImportSuperseded, MAX_REPORTED_REJECTIONS, runImportJob } from "./import-job.ts";
import type { ImportRunner } from "./runner.ts";

/** A job nobody has touched for this long lost its process: resumed (or, still uploading, failed). */
export const IMPORT_STALE_SECONDS = 60;
const SWEEP_MS = 20_000;
/** Imports of at least this many users refresh the planner's statistics of users. */
const ANALYZE_AFTER_ROWS = 10_000;

export function createImportRunner(deps: {
  db: Kysely<Database>;
  config: Pick<Config, "APP_URL" | "PUBLIC_URL">;
  log: FastifyBaseLogger;
}): ImportRunner {
  const running = new Set<Promise<void>>();
  let closed = false;
  let sweeping: Promise<void> | undefined;

  const track = (work: Promise<void>) => {
    const done = work.finally(() => running.delete(done));
    running.add(done);
  };

  async function run(job: ImportJob): Promise<void> {
    try {
      const outcome = await runImportJob(deps, job, () => closed);
      if (outcome !== "finished") return;
      await finishImportJob(deps.db, job.id, MAX_REPORTED_REJECTIONS);
      const done = await findImportJob(deps.db, job.id);
      if (!job.dry_run && (done?.imported_rows ?? 0) >= ANALYZE_AFTER_ROWS)
        await analyzeUsers(deps.db);
    } catch (error) {
      // Taken over, or the database is away: the job stays as it is, for a sweep to resume.
      if (error instanceof ImportSuperseded || isDatabaseUnavailable(error)) return;
      deps.log.error({ err: error, jobId: job.id }, "import job failed");
      await failImportJob(deps.db, job.id, "The import stopped on an internal error").catch(
        () => {},
      );
    }
  }

  async function sweepOnce(): Promise<void> {
    await failStaleUploads(deps.db, IMPORT_STALE_SECONDS);
    for (;;) {
      if (closed) return;
      const job = await claimImportJob(deps.db, { staleSeconds: IMPORT_STALE_SECONDS });
      if (!job) return;
      deps.log.warn({ jobId: job.id, nextLine: job.next_line }, "resuming an orphaned import job");
      await run(job);
    }
  }

  const sweep = () => {
    sweeping ??= sweepOnce()
      .catch((error: unknown) => deps.log.error({ err: error }, "import sweep failed"))
      .finally(() => {
        sweeping = undefined;
      });
    return sweeping;
  };

  const timer = setInterval(() => {
    if (!closed) track(sweep());
  }, SWEEP_MS);
  timer.unref();

  const idle = async () => {
    while (running.size > 0) await Promise.allSettled([...running]);
  };

  return {
    start(jobId) {
      if (closed) return;
      track(
        claimImportJob(deps.db, { id: jobId })
          .then((job) => (job ? run(job) : undefined))
          .catch((error: unknown) => deps.log.error({ err: error, jobId }, "import start failed")),
      );
    },
    sweep,
    idle,
    async close() {
      closed = true;
      clearInterval(timer);
      await idle();
    },
  };
}
