import type { FastifyBaseLogger } from "fastify";
import type { Kysely } from "kysely";
import type { Database } from "../../db/database.ts";
import { purgeDeletedUsers } from "../../db/personal-data.ts";

/** Users purged per transaction. */
const PURGE_BATCH = 200;
const PURGE_EVERY_MS = 10 * 60 * 1000;

export type Purger = {
  /** Purges every user soft-deleted more than PURGE_DELETED_AFTER_DAYS ago; returns how many. */
  runOnce(): Promise<number>;
  stop(): Promise<void>;
};

/**
 * Soft-deleted users are deleted for good PURGE_DELETED_AFTER_DAYS after their deletion, with
 * their sessions, tokens, memberships, image and mail (db/personal-data.ts purgeDeletedUsers):
 * every 10 minutes, and once shortly after start. Safe with several processes (SKIP LOCKED).
 */
export function startPurging(deps: {
  db: Kysely<Database>;
  afterDays: number;
  log: FastifyBaseLogger;
}): Purger {
  let current: Promise<number> | undefined;
  let stopped = false;

  async function purgeAll(): Promise<number> {
    let total = 0;
    for (;;) {
      if (stopped) return total;
      const purged = await purgeDeletedUsers(deps.db, deps.afterDays, PURGE_BATCH);
      total += purged;
      if (purged < PURGE_BATCH) break;
    }
    if (total > 0) deps.log.info({ purged: total }, "purged users deleted long ago");
    return total;
  }

  const runOnce = () => {
    current ??= purgeAll().finally(() => {
      current = undefined;
    });
    return current;
  };
  const tick = () => {
    if (!stopped)
      runOnce().catch((error: unknown) => deps.log.error({ err: error }, "purge failed"));
  };
  const first = setTimeout(tick, 30_000);
  const timer = setInterval(tick, PURGE_EVERY_MS);
  first.unref();
  timer.unref();

  return {
    runOnce,
    async stop() {
      stopped = true;
      clearTimeout(first);
      clearInterval(timer);
      await current?.catch(() => {});
    },
  };
}
