// The runner's type alone, so the service's context (server/context.ts) can name it without
// importing what runs the jobs.

/** Runs import jobs in the background of one process (one per service, made by buildDeps). */
export type ImportRunner = {
  /** Runs a queued job (the one an upload just staged) without waiting for it. */
  start(jobId: number): void;
  /**
   * Fails uploads whose request died and resumes jobs whose process died (several processes may
   * sweep at once: each job is claimed by one). Runs every 20 s by itself.
   */
  sweep(): Promise<void>;
  /** Waits until no job runs here: running ones stop after their batch (to be resumed). */
  idle(): Promise<void>;
  close(): Promise<void>;
};
