import { setTimeout as sleep } from "node:timers/promises";
import type { Kysely } from "kysely";
import type { Database } from "../../db/database.ts";
import { createWebhookWorker, type WebhookWorkerOptions } from "../../server/webhooks/worker.ts";

/** A webhook worker for tests: fast polls and retries, private addresses allowed unless told. */
export const testWorker = (db: Kysely<Database>, options: Partial<WebhookWorkerOptions> = {}) =>
  createWebhookWorker({
    db,
    log: { debug() {}, info() {}, warn() {}, error() {} },
    kind: "pglite",
    policy: { httpsOnly: false, allowPrivate: true },
    retentionDays: 30,
    disableAfterSeconds: 3600,
    pollMs: 50,
    backoff: { baseSeconds: 0.1, factor: 1, maxSeconds: 0.1, jitter: 0 },
    limits: { connectTimeoutMs: 2000, responseTimeoutMs: 3000, maxResponseBytes: 1024 },
    ...options,
  });

/** Waits until `check` holds (polling), or fails after `ms`. */
export async function eventually(check: () => Promise<boolean> | boolean, ms = 15_000) {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error("timed out waiting");
    await sleep(25);
  }
}

/** Delivery rows by status. */
export async function deliveryCounts(db: Kysely<Database>) {
  const rows = await db
    .selectFrom("webhook_deliveries")
    .select(["status", (eb) => eb.fn.countAll<string>().as("n")])
    .groupBy("status")
    .execute();
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)])) as Record<string, number>;
}
