import type { Kysely } from "kysely";
import type { Database } from "../../db/database.ts";
import {
  abandonMail,
  type ClaimedMail,
  claimDueMails,
  MAIL_CHANNEL,
  markMailSent,
  onMailQueuedLocally,
  releaseMails,
  renewMailLeases,
  rescheduleMail,
} from "../../db/mail-outbox.ts";
import type { Config } from "../config.ts";
import { createOutboxLoop } from "./outbox-loop.ts";
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
  listenUrl?: string | undefined;
  /**
   * Fallback poll interval (ms): 5 s while the LISTEN connection hears its echo, 1 s otherwise
   * (no LISTEN, or one that went deaf: a pooler in between, a lost connection).
   */
  pollMs?: number;
  /** Attempts before a mail is abandoned. */
  maxAttempts?: number;
  backoff?: Partial<BackoffOptions>;
  /** Mails claimed per statement. */
  batchSize?: number;
  /** Mails of a batch sent at once (each over its own SMTP connection). */
  concurrency?: number;
  /**
   * How long a claim keeps a mail from other workers (seconds). The worker renews it every third
   * of that while the mail waits in its batch or is being sent, so it need not cover a slow
   * send; it is how long a mail waits when the process that claimed it dies (kill -9, crash).
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

type Outcome =
  | { kind: "sent" }
  /** A job that has done its work (a reset request resolved: its row is gone). */
  | { kind: "resolved" }
  | { kind: "failed"; error: string }
  | { kind: "unrenderable"; error: string };

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
  const maxAttempts = options.maxAttempts ?? 8;
  const backoff: BackoffOptions = { ...DEFAULT_BACKOFF, ...options.backoff };
  const batchSize = options.batchSize ?? 10;
  const concurrency = Math.max(1, options.concurrency ?? 4);
  const leaseSeconds = options.leaseSeconds ?? 20;

  const loop = createOutboxLoop({
    db,
    log,
    kind: options.kind,
    listenUrl: options.listenUrl,
    channel: MAIL_CHANNEL,
    subscribeLocally: (queued) => onMailQueuedLocally(db, queued),
    pollMs: options.pollMs,
    drain,
    // The database is down or the claim failed: the next poll or notification tries again.
    onPassFailed: (error) => log.warn({ error: describe(error) }, "mail worker pass failed"),
  });

  /** Sends one mail (or runs one job); what happened is recorded afterwards (record), once its lease is let go. */
  async function attempt(mail: ClaimedMail): Promise<Outcome> {
    if (mail.attempts > maxAttempts) {
      // Its last attempt never finished (the process died while sending it).
      return { kind: "failed", error: "the process stopped during the last attempt" };
    }
    if (mail.kind === RESET_REQUEST_KIND) {
      try {
        await resolveResetRequest(db, options.config, mail);
        return { kind: "resolved" };
      } catch (error) {
        return { kind: "failed", error: describe(error) };
      }
    }
    let rendered: ReturnType<typeof renderMail>;
    try {
      rendered = renderMail(mail.kind, mail.payload);
    } catch (error) {
      // A payload that cannot be rendered never will be: give up now, not after 8 tries.
      const message = error instanceof UnrenderableMailError ? error.message : describe(error);
      return { kind: "unrenderable", error: message };
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
      return { kind: "failed", error: describe(error) };
    }
    return { kind: "sent" };
  }

  async function record(mail: ClaimedMail, outcome: Outcome): Promise<void> {
    if (outcome.kind === "resolved") return;
    if (outcome.kind === "sent") {
      await markMailSent(db, mail.id);
      log.debug({ mailId: mail.id, kind: mail.kind, attempts: mail.attempts }, "mail sent");
    } else if (outcome.kind === "failed") {
      await failed(mail, outcome.error);
    } else {
      await abandonMail(db, mail, outcome.error);
      log.error(
        { mailId: mail.id, kind: mail.kind, error: outcome.error },
        "mail abandoned: cannot render",
      );
    }
  }

  async function failed(mail: ClaimedMail, error: string): Promise<void> {
    if (mail.attempts >= maxAttempts) {
      await abandonMail(db, mail, error);
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
    await rescheduleMail(db, mail, delay, error);
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
    while (!loop.stopping()) {
      const batch = await claimDueMails(db, batchSize, leaseSeconds);
      const waiting = [...batch];
      const held = new Set(batch);
      const heartbeat = renewWhileHeld(held);
      // A job (a reset request) queues its mail as it runs: look again before stopping.
      let queuedMore = false;
      const lanes = Array.from({ length: Math.min(concurrency, batch.length) }, async () => {
        for (let mail = waiting.shift(); mail; mail = waiting.shift()) {
          if (loop.stopping()) {
            waiting.unshift(mail);
            return;
          }
          try {
            const outcome = await attempt(mail);
            if (outcome.kind === "resolved") queuedMore = true;
            // No renewal may land after (and undo) the retry time recorded next.
            await heartbeat.letGo(mail);
            await record(mail, outcome);
          } finally {
            held.delete(mail);
          }
        }
      });
      const results = await Promise.allSettled(lanes);
      await heartbeat.stop();
      await releaseMails(db, waiting);
      const failure = results.find((result) => result.status === "rejected");
      if (failure) throw failure.reason;
      if (batch.length < batchSize && !queuedMore) return;
    }
  }

  /**
   * Renews the lease of every mail of a batch not yet done, every third of the lease, so a slow
   * send keeps its mail while a dead process's claim runs out within one lease.
   */
  function renewWhileHeld(held: Set<ClaimedMail>) {
    let renewing: Promise<void> | undefined;
    const timer = setInterval(
      () => {
        if (renewing || held.size === 0) return;
        renewing = renewMailLeases(db, [...held], leaseSeconds)
          .catch((error) => log.warn({ error: describe(error) }, "mail lease renewal failed"))
          .finally(() => {
            renewing = undefined;
          });
      },
      (leaseSeconds * 1000) / 3,
    );
    timer.unref();
    return {
      /** Stops renewing this mail; resolves once no renewal that includes it is running. */
      async letGo(mail: ClaimedMail) {
        held.delete(mail);
        await renewing;
      },
      async stop() {
        clearInterval(timer);
        await renewing;
      },
    };
  }

  return { start: loop.start, stop: loop.stop, drainOnce: loop.drainOnce };
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
