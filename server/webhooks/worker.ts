import type { FastifyBaseLogger } from "fastify";
import type { Kysely } from "kysely";
import { recordAudit } from "../../db/audit.ts";
import type { Database } from "../../db/database.ts";
import { databaseEvents } from "../../db/database-events.ts";
import { findEventForDelivery, pruneEvents, WEBHOOK_CHANNEL } from "../../db/events.ts";
import {
  type ClaimedDelivery,
  claimDueDeliveries,
  disableIfFailingSince,
  markAttemptFailed,
  markDelivered,
  releaseDeliveries,
} from "../../db/webhooks.ts";
import { createOutboxLoop } from "../mail/outbox-loop.ts";
import { type BackoffOptions, retryDelaySeconds } from "../mail/worker.ts";
import { DEFAULT_SEND_LIMITS, type SendLimits, type SendResult, sendWebhook } from "./send.ts";
import { signatureHeader } from "./signature.ts";
import type { TargetPolicy } from "./target.ts";

/** 10 s, 30 s, 90 s, … capped at 6 h: 12 attempts span about 27 hours, then the delivery fails. */
export const WEBHOOK_BACKOFF: BackoffOptions = {
  baseSeconds: 10,
  factor: 3,
  maxSeconds: 6 * 3600,
  jitter: 0.2,
};
export const WEBHOOK_MAX_ATTEMPTS = 12;

export type WebhookWorkerOptions = {
  db: Kysely<Database>;
  log: Pick<FastifyBaseLogger, "debug" | "info" | "warn" | "error">;
  kind: "postgres" | "pglite";
  /** PostgreSQL only: where the LISTEN connection goes. */
  listenUrl?: string | undefined;
  policy: TargetPolicy;
  /** Events older than this many days are pruned (with their deliveries). */
  retentionDays: number;
  /** An endpoint whose attempts have all failed for this long is disabled (seconds). */
  disableAfterSeconds: number;
  maxAttempts?: number;
  backoff?: Partial<BackoffOptions>;
  limits?: SendLimits;
  /** Poll interval when no notification comes (ms): 5 s while LISTEN echoes, 1 s otherwise. */
  pollMs?: number;
  batchSize?: number;
  /** Deliveries of a batch sent at once. */
  concurrency?: number;
  /** How long a claim keeps a delivery from other workers; longer than one bounded attempt. */
  leaseSeconds?: number;
};

export type WebhookWorker = {
  start(): void;
  stop(): Promise<void>;
  /** Sends everything due now, until nothing is; for tests and scripts. */
  drainOnce(): Promise<void>;
};

const PRUNE_EVERY_MS = 10 * 60 * 1000;

/**
 * Delivers webhooks the way the mail worker delivers mail: claims due deliveries with a lease
 * (SKIP LOCKED, so several processes share the work and none sends one twice), POSTs them
 * outside any transaction, then records the outcome, fenced by the claim's attempt count. A
 * failure retries with backoff; after the last attempt the delivery fails, and an endpoint that
 * has failed for `disableAfterSeconds` is disabled with an audit entry. At least once: a crash
 * between the POST and the record sends again after the lease, with the same `webhook-id`.
 */
export function createWebhookWorker(options: WebhookWorkerOptions): WebhookWorker {
  const { db, log } = options;
  const maxAttempts = options.maxAttempts ?? WEBHOOK_MAX_ATTEMPTS;
  const backoff: BackoffOptions = { ...WEBHOOK_BACKOFF, ...options.backoff };
  const limits = options.limits ?? DEFAULT_SEND_LIMITS;
  const batchSize = options.batchSize ?? 20;
  const concurrency = Math.max(1, options.concurrency ?? 4);
  const leaseSeconds =
    options.leaseSeconds ??
    Math.ceil((limits.responseTimeoutMs + limits.connectTimeoutMs) / 1000) + 30;

  let lastPrune = 0;
  const loop = createOutboxLoop({
    db,
    log,
    kind: options.kind,
    listenUrl: options.listenUrl,
    channel: WEBHOOK_CHANNEL,
    subscribeLocally: (queued) => {
      const events = databaseEvents(db);
      events.on("webhooksQueued", queued);
      return () => events.off("webhooksQueued", queued);
    },
    pollMs: options.pollMs,
    drain,
    onPassFailed: (error) =>
      log.warn({ error: (error as Error).message }, "webhook worker pass failed"),
  });

  async function attempt(delivery: ClaimedDelivery): Promise<SendResult> {
    if (delivery.attempts > maxAttempts) {
      return { statusCode: null, error: "the process stopped during the last attempt" };
    }
    const event = await findEventForDelivery(db, delivery.eventId);
    if (!event) return { statusCode: null, error: "the event was pruned" };
    const body = JSON.stringify({
      id: event.id,
      type: event.type,
      timestamp: event.timestamp,
      subject: event.subject,
      data: event.data,
    });
    const timestamp = Math.floor(Date.now() / 1000);
    const secrets = [
      delivery.secret,
      ...(delivery.previousSecret ? [delivery.previousSecret] : []),
    ];
    return sendWebhook(
      new URL(delivery.url),
      {
        "webhook-id": event.id,
        "webhook-timestamp": String(timestamp),
        "webhook-signature": signatureHeader(secrets, event.id, timestamp, body),
      },
      body,
      options.policy,
      limits,
    );
  }

  async function record(delivery: ClaimedDelivery, result: SendResult): Promise<void> {
    if (result.statusCode !== null && result.statusCode >= 200 && result.statusCode < 300) {
      await markDelivered(db, delivery, result.statusCode);
      log.debug({ deliveryId: delivery.id, attempts: delivery.attempts }, "webhook delivered");
      return;
    }
    const error =
      result.statusCode === null ? result.error : `the endpoint answered ${result.statusCode}`;
    const last = delivery.attempts >= maxAttempts;
    const retryInSeconds = last ? null : retryDelaySeconds(delivery.attempts, backoff);
    await markAttemptFailed(db, delivery, { statusCode: result.statusCode, error, retryInSeconds });
    log.warn(
      {
        deliveryId: delivery.id,
        endpointId: delivery.endpointId,
        attempts: delivery.attempts,
        retryInSeconds,
        error,
      },
      last
        ? "webhook delivery failed after its last attempt"
        : "webhook delivery failed, will retry",
    );
    const reason = `Every delivery failed for ${options.disableAfterSeconds} s (last: ${error})`;
    if (await disableIfFailingSince(db, delivery.endpointId, options.disableAfterSeconds, reason)) {
      await recordAudit(db, {
        actorId: null,
        action: "webhook.disabled",
        changes: { endpointId: delivery.endpointId, enabled: false, reason },
      });
      log.error({ endpointId: delivery.endpointId }, "webhook endpoint disabled: failing too long");
    }
  }

  async function drain(): Promise<void> {
    await pruneNow();
    while (!loop.stopping()) {
      const batch = await claimDueDeliveries(db, batchSize, leaseSeconds);
      const waiting = [...batch];
      const lanes = Array.from({ length: Math.min(concurrency, batch.length) }, async () => {
        for (let delivery = waiting.shift(); delivery; delivery = waiting.shift()) {
          if (loop.stopping()) {
            waiting.unshift(delivery);
            return;
          }
          await record(delivery, await attempt(delivery));
        }
      });
      const results = await Promise.allSettled(lanes);
      await releaseDeliveries(db, waiting);
      const failure = results.find((result) => result.status === "rejected");
      if (failure) throw failure.reason;
      // Delivering a subject's event makes its next one due: claim until nothing is.
      if (batch.length === 0) return;
    }
  }

  async function pruneNow(): Promise<void> {
    if (Date.now() - lastPrune < PRUNE_EVERY_MS) return;
    lastPrune = Date.now();
    const pruned = await pruneEvents(db, options.retentionDays);
    if (pruned > 0) log.info({ pruned, retentionDays: options.retentionDays }, "events pruned");
  }

  return { start: loop.start, stop: loop.stop, drainOnce: loop.drainOnce };
}
