import type { FastifyBaseLogger } from "fastify";
import type { Kysely } from "kysely";
import type { Database } from "../../db/database.ts";
import { type Listener, listen } from "../../db/listener.ts";

export type OutboxLoopOptions = {
  db: Kysely<Database>;
  log: Pick<FastifyBaseLogger, "warn" | "info">;
  kind: "postgres" | "pglite";
  /** PostgreSQL only: where the LISTEN connection goes (the same database as `db`). */
  listenUrl?: string | undefined;
  /** The NOTIFY channel a queued row is announced on (PostgreSQL). */
  channel: string;
  /** Without LISTEN (PGlite): subscribes to this process's own "queued" signal; returns the unsubscribe. */
  subscribeLocally: (queued: () => void) => () => void;
  /**
   * Fallback poll interval (ms): 5 s while the LISTEN connection hears its echo, 1 s otherwise
   * (no LISTEN, or one that went deaf: a pooler in between, a lost connection).
   */
  pollMs?: number | undefined;
  /** One pass over the outbox: claims and handles due rows until none is (or `stopping()`). */
  drain: () => Promise<void>;
  /** A pass threw (the database is down, a claim failed): log it; the next wake-up tries again. */
  onPassFailed: (error: unknown) => void;
};

export type OutboxLoop = {
  start(): void;
  /** Stops waking, closes the LISTEN connection, waits for the pass already running. */
  stop(): Promise<void>;
  /** Waits for a pass already running (it holds claimed rows), then makes its own. */
  drainOnce(): Promise<void>;
  /** True from `stop()` until the next `start()`: a pass stops claiming and hands rows back. */
  stopping(): boolean;
};

/**
 * The wake-up loop the outbox workers (mail, webhooks) share: a pass runs on every NOTIFY (or,
 * without LISTEN, on the process's own "queued" signal) and on a poll timer whose period is
 * longer while notifications are heard. Passes run one at a time; a wake-up during a pass runs
 * one more afterwards. What a pass does is the worker's `drain`.
 */
export function createOutboxLoop(options: OutboxLoopOptions): OutboxLoop {
  const { db, log } = options;
  const listens = options.kind === "postgres" && Boolean(options.listenUrl);

  let running = false;
  let stopping = false;
  let draining: Promise<void> | undefined;
  let again = false;
  let pollTimer: NodeJS.Timeout | undefined;
  let unsubscribeLocal: (() => void) | undefined;
  let listener: Listener | undefined;
  let heard = false;
  const pollMs = () => options.pollMs ?? (heard ? 5000 : 1000);

  /** Runs passes one at a time; a wake-up during a pass runs one more afterwards. */
  function wake(): void {
    if (stopping) return;
    if (draining) {
      again = true;
      return;
    }
    draining = (async () => {
      try {
        do {
          again = false;
          await options.drain();
        } while (again && !stopping);
      } catch (error) {
        options.onPassFailed(error);
      } finally {
        draining = undefined;
      }
    })();
  }

  function schedulePoll(): void {
    if (stopping) return;
    clearTimeout(pollTimer);
    pollTimer = setTimeout(() => {
      wake();
      schedulePoll();
    }, pollMs());
    pollTimer.unref();
  }

  /** Hearing notifications or not changes how often the loop polls, from now on. */
  function setHeard(next: boolean): void {
    heard = next;
    schedulePoll();
  }

  return {
    start() {
      if (running) return;
      running = true;
      stopping = false;
      if (listens) {
        // Anything queued while nobody listened is picked up by the wake on (re)connect.
        listener = listen({
          databaseUrl: options.listenUrl as string,
          db,
          channel: options.channel,
          log,
          onNotification: wake,
          onListening: () => {
            setHeard(true);
            wake();
          },
          onLost: () => setHeard(false),
        });
      } else {
        unsubscribeLocal = options.subscribeLocally(() => setImmediate(wake));
      }
      schedulePoll();
      wake();
    },
    async stop() {
      stopping = true;
      running = false;
      clearTimeout(pollTimer);
      unsubscribeLocal?.();
      unsubscribeLocal = undefined;
      await listener?.close();
      listener = undefined;
      heard = false;
      await draining;
    },
    async drainOnce() {
      while (draining) await draining;
      await options.drain();
    },
    stopping: () => stopping,
  };
}
