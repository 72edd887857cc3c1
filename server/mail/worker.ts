import type { Kysely } from "kysely";
import type { Database } from "../../db/database.ts";
import { type Listener, listen } from "../../db/listener.ts";
import {
  abandonMail,
  type ClaimedMail,
  claimDueMails,
  markMailSent,
  releaseMails,
  rescheduleMail,
} from "../../db/mail-queue.ts";
import { MAIL_CHANNEL, onMailQueuedLocally } from "../../db/outbox-notify.ts";
import type { Config } from "../config.ts";
import { RESET_REQUEST_KIND, resolveResetRequest } from "./reset-requests.ts";
import { renderMail, UnrenderableMailError } from "./templates.ts";
import type { MailLog, MailTransport } from "./transport.ts";

export type BackoffOptions = {
  /** Delay before the first retry (seconds). */
  baseSeconds: number;
  /** Each further retry waits this many times longer. */
  factor: number;
  /** No retry waits longer than this (seconds). */
  maxSeconds: number;
  /** ± this fraction of randomness, so mails failed together do not retry together. */
  jitter: number;
};

/** 3 s, 12 s, 48 s, ~3 min, ~13 min, then 15 min: 8 attempts span about 47 minutes. */
export const DEFAULT_BACKOFF: BackoffOptions = {
  baseSeconds: 3,
  factor: 4,
  maxSeconds: 900,
  jitter: 0.2,
};

export type MailWorkerOptions = {
  db: Kysely<Database>;
  /** Where mailed links point, for the mails the worker composes itself (password resets). */
  config: Pick<Config, "APP_URL" | "PUBLIC_URL">;
  transport: MailTransport;
  log: MailLog;
  kind: "postgres" | "pglite";
  /** PostgreSQL only: where the LISTEN connection goes (the same database as `db`). */
  databaseUrl?: string | undefined;
  /** Fallback poll interval (ms): 5 s with LISTEN on PostgreSQL, 1 s otherwise. */
  pollMs?: number;
  /** Attempts before a mail is abandoned. */
  maxAttempts?: number;
  backoff?: Partial<BackoffOptions>;
  /** Mails claimed per statement. */
  batchSize?: number;
  /** Mails of a batch sent at once (each over its own SMTP connection). */
  concurrency?: number;
  /**
   * How long a claimed mail stays invisible to other workers (seconds). It must cover sending
   * the whole batch (each send is capped by the transport's timeouts: 30 s by default, so a
   * batch of 10 over 4 connections takes at most ~90 s); it only matters when a process dies
   * mid-send, which delays that mail by this much.
   */
  leaseSeconds?: number;
};

export type MailWorker = {
  start(): void;
  /** Stops claiming, finishes the mails being sent, hands the rest of their batch back. */
  stop(): Promise<void>;
  /** Claims and sends everything due now (until nothing due is left); for tests and scripts. */
  drainOnce(): Promise<void>;
};

/** Retry delay after the n-th failed attempt (n ≥ 1), in seconds. */
export function retryDelaySeconds(attempt: number, options: BackoffOptions): number {
  const raw = options.baseSeconds * options.factor ** Math.max(0, attempt - 1);
  const capped = Math.min(options.maxSeconds, raw);
  const jittered = capped * (1 - options.jitter + 2 * options.jitter * Math.random());
  return Math.max(0, Math.round(jittered * 1000) / 1000);
}

/**
 * Delivers the outbox: claims due mails with a lease, sends them outside any transaction, then
 * marks each sent (dropping its payload) or schedules a retry with backoff, and abandons it after
 * `maxAttempts`. Delivery is at least once: a crash between sending and marking resends after
 * the lease, with the same Message-ID. Nothing here throws into the process: SMTP and database
 * errors are logged and retried.
 */
export function createMailWorker(options: MailWorkerOptions): MailWorker {
  const { db, transport, log } = options;
  const listens = options.kind === "postgres" && Boolean(options.databaseUrl);
  const pollMs = options.pollMs ?? (listens ? 5000 : 1000);
  const maxAttempts = options.maxAttempts ?? 8;
  const backoff: BackoffOptions = { ...DEFAULT_BACKOFF, ...options.backoff };
  const batchSize = options.batchSize ?? 10;
  const concurrency = Math.max(1, options.concurrency ?? 4);
  const leaseSeconds = options.leaseSeconds ?? 300;

  let running = false;
  let stopping = false;
  let draining: Promise<void> | undefined;
  let again = false;
  let pollTimer: NodeJS.Timeout | undefined;
  let unsubscribeLocal: (() => void) | undefined;
  let listener: Listener | undefined;

  /** Sends one claimed row; answers whether it was a job that may have queued more mail. */
  async function deliver(mail: ClaimedMail): Promise<boolean> {
    if (mail.attempts > maxAttempts) {
      // Its last attempt never finished (the process died while sending it).
      await failed(mail, "the process stopped during the last attempt");
      return false;
    }
    if (mail.kind === RESET_REQUEST_KIND) {
      try {
        await resolveResetRequest(db, options.config, mail);
      } catch (error) {
        await failed(mail, describe(error));
      }
      return true;
    }
    let rendered: ReturnType<typeof renderMail>;
    try {
      rendered = renderMail(mail.kind, mail.payload);
    } catch (error) {
      // A payload that cannot be rendered never will be: give up now, not after 8 tries.
      const message = error instanceof UnrenderableMailError ? error.message : describe(error);
      await abandonMail(db, mail.id, message);
      log.error(
        { mailId: mail.id, kind: mail.kind, error: message },
        "mail abandoned: cannot render",
      );
      return false;
    }
    const link = typeof mail.payload?.link === "string" ? mail.payload.link : undefined;
    try {
      await transport.send({
        id: mail.id,
        kind: mail.kind,
        to: mail.recipient,
        messageId: mail.message_id,
        ...rendered,
        link,
      });
    } catch (error) {
      await failed(mail, describe(error));
      return false;
    }
    await markMailSent(db, mail.id);
    log.debug({ mailId: mail.id, kind: mail.kind, attempts: mail.attempts }, "mail sent");
    return false;
  }

  async function failed(mail: ClaimedMail, error: string): Promise<void> {
    if (mail.attempts >= maxAttempts) {
      await abandonMail(db, mail.id, error);
      // Never the payload: it holds the token and link.
      log.error(
        {
          mailId: mail.id,
          kind: mail.kind,
          recipient: mail.recipient,
          attempts: mail.attempts,
          error,
        },
        "mail abandoned after its last attempt",
      );
      return;
    }
    const delay = retryDelaySeconds(mail.attempts, backoff);
    await rescheduleMail(db, mail.id, delay, error);
    log.warn(
      { mailId: mail.id, kind: mail.kind, attempts: mail.attempts, retryInSeconds: delay, error },
      "mail delivery failed, will retry",
    );
  }

  /**
   * One pass: claim batches until nothing is due (or the worker is stopping). A batch is sent
   * over `concurrency` connections; when stopping, mails not yet started are handed back.
   */
  async function drain(): Promise<void> {
    while (!stopping) {
      const batch = await claimDueMails(db, batchSize, leaseSeconds);
      const waiting = [...batch];
      // A job (a reset request) queues its mail as it runs: look again before stopping.
      let queuedMore = false;
      const lanes = Array.from({ length: Math.min(concurrency, batch.length) }, async () => {
        for (let mail = waiting.shift(); mail; mail = waiting.shift()) {
          if (stopping) {
            waiting.unshift(mail);
            return;
          }
          if (await deliver(mail)) queuedMore = true;
        }
      });
      const results = await Promise.allSettled(lanes);
      const unstarted = waiting.map((mail) => mail.id);
      if (unstarted.length > 0) await releaseMails(db, unstarted);
      const failure = results.find((result) => result.status === "rejected");
      if (failure) throw failure.reason;
      if (batch.length < batchSize && !queuedMore) return;
    }
  }

  /** Runs drains one at a time; a wake-up during a drain runs one more afterwards. */
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
          await drain();
        } while (again && !stopping);
      } catch (error) {
        // The database is down or the claim failed: the next poll or notification tries again.
        log.warn({ error: describe(error) }, "mail worker pass failed");
      } finally {
        draining = undefined;
      }
    })();
  }

  function schedulePoll(): void {
    if (stopping) return;
    pollTimer = setTimeout(() => {
      wake();
      schedulePoll();
    }, pollMs);
    pollTimer.unref();
  }

  return {
    start() {
      if (running) return;
      running = true;
      stopping = false;
      if (listens) {
        // Anything queued while nobody listened is picked up by the wake on (re)connect.
        listener = listen({
          databaseUrl: options.databaseUrl as string,
          channel: MAIL_CHANNEL,
          log,
          onNotification: wake,
          onListening: wake,
        });
      } else {
        unsubscribeLocal = onMailQueuedLocally(() => setImmediate(wake));
      }
      schedulePoll();
      wake();
    },
    async stop() {
      stopping = true;
      running = false;
      if (pollTimer) clearTimeout(pollTimer);
      unsubscribeLocal?.();
      unsubscribeLocal = undefined;
      await listener?.close();
      listener = undefined;
      await draining;
    },
    async drainOnce() {
      // Waits for a pass already running (it holds claimed mails), then makes its own.
      while (draining) await draining;
      await drain();
    },
  };
}

/** An error as one short line for logs and `last_error` (SMTP replies carry no mail content). */
function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    const text = typeof code === "string" ? `${code}: ${error.message}` : error.message;
    return text.replace(/\s+/g, " ").slice(0, 500);
  }
  return String(error).slice(0, 500);
}
