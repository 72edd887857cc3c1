import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { openDatabase } from "../../db/open.ts";
import { createTestApp, type TestApp } from "../helpers/test-app.ts";
import { deliveryCounts, eventually, testWorker } from "./helpers.ts";
import { type Receiver, startReceiver } from "./receiver.ts";

let t: TestApp;
let admin: Awaited<ReturnType<TestApp["userWithToken"]>>;
let receiver: Receiver;
const workers: { stop(): Promise<void> }[] = [];

beforeAll(async () => {
  t = await createTestApp({ WEBHOOKS_ALLOW_PRIVATE: "on" });
  admin = await t.userWithToken({ role: "AppAdmin" });
});
afterAll(() => t.close());

beforeEach(async () => {
  // Each test starts with no endpoints and no deliveries of its own.
  await t.db.deleteFrom("webhook_endpoints").execute();
  receiver = await startReceiver();
});
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop()));
  await receiver.close();
});

async function register(eventTypes: string[], url = receiver.url) {
  const res = await t.app.inject({
    method: "POST",
    url: "/api/webhooks",
    headers: admin.auth,
    payload: { url, eventTypes },
  });
  expect(res.statusCode).toBe(201);
  const endpoint = res.json();
  receiver.trust(endpoint.secret);
  return endpoint as { id: number; secret: string };
}

const started = (worker: ReturnType<typeof testWorker>) => {
  workers.push(worker);
  worker.start();
  return worker;
};

/** Makes `n` users, each created then edited twice (three events about each subject). */
async function changeUsers(n: number, tag: string) {
  const caller = await t.callerFor(admin.user);
  const ids: number[] = [];
  await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const user = await caller.users.create({
        email: `${tag}-${i}@example.com`,
        firstName: "One",
        lastName: "Two",
      });
      ids.push(user.id);
      await caller.users.edit({ id: user.id, firstName: "Three" });
      await caller.users.edit({ id: user.id, lastName: "Four" });
    }),
  );
  return ids;
}

/** Feed order of the events received, per subject, must be the order they were received in. */
async function expectOncePerEventInSubjectOrder(expectedCount: number) {
  const ids = receiver.received.map((r) => r.payload.id);
  expect(new Set(ids).size).toBe(ids.length);
  expect(ids.length).toBe(expectedCount);
  const feed = await t.db
    .selectFrom("events")
    .select(["public_id", "subject", "position"])
    .orderBy("position")
    .execute();
  const rank = new Map(feed.map((e, i) => [`evt_${e.public_id.replaceAll("-", "")}`, i]));
  const bySubject = new Map<string, number[]>();
  for (const r of receiver.received) {
    const list = bySubject.get(r.payload.subject) ?? [];
    list.push(rank.get(r.payload.id) as number);
    bySubject.set(r.payload.subject, list);
  }
  for (const ranks of bySubject.values()) expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
}

describe("webhook delivery", () => {
  it("signs every delivery per Standard Webhooks (verified by the standardwebhooks package)", async () => {
    await register(["user.created", "user.updated"]);
    await changeUsers(2, "signed");
    await testWorker(t.db).drainOnce();
    expect(receiver.rejected).toEqual([]);
    expect(receiver.received).toHaveLength(6);
    const first = receiver.received[0];
    expect(first?.headers["webhook-id"]).toBe(first?.payload.id);
    expect(first?.headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/=]+$/);
    expect(Number(first?.headers["webhook-timestamp"])).toBeCloseTo(Date.now() / 1000, -2);
    expect(first?.payload).toMatchObject({ type: "user.created", data: { firstName: "One" } });
    // A wrong secret does not verify: the check above is not vacuous.
    receiver.trust("whsec_" + Buffer.alloc(32, 1).toString("base64"));
    await t.db.transaction().execute(async (tx) => {
      const { recordUserEvent } = await import("../../db/events.ts");
      await recordUserEvent(tx, "user.updated", admin.user.id, ["firstName"]);
    });
    await testWorker(t.db, { maxAttempts: 1 }).drainOnce();
    expect(receiver.rejected).toHaveLength(1);
  });

  it("keeps retrying while the receiver is down, then delivers every event once, in order per subject", async () => {
    await register(["user.created", "user.updated"]);
    await receiver.down();
    started(testWorker(t.db));
    await changeUsers(4, "outage");
    await eventually(async () => {
      const failed = await t.db
        .selectFrom("webhook_deliveries")
        .select("attempts")
        .where("attempts", ">=", 2)
        .execute();
      return failed.length > 0;
    });
    const waiting = await t.db.selectFrom("webhook_deliveries").selectAll().execute();
    expect(waiting.every((d) => d.status === "pending")).toBe(true);
    expect(waiting.some((d) => /ECONNREFUSED/.test(d.last_error ?? ""))).toBe(true);
    await receiver.up();
    await eventually(async () => (await deliveryCounts(t.db)).delivered === 12);
    await expectOncePerEventInSubjectOrder(12);
  });

  it("two service processes on one database deliver each event once (many rounds)", async () => {
    await register(["user.created", "user.updated"]);
    // A second database handle (its own pool on PostgreSQL): as another process would have.
    const other = t.config.DATABASE_URL
      ? await openDatabase({ databaseUrl: t.config.DATABASE_URL, dataDir: "memory://" })
      : { db: t.db, close: async () => {} };
    try {
      started(testWorker(t.db, { concurrency: 3, batchSize: 4 }));
      started(testWorker(other.db, { concurrency: 3, batchSize: 4 }));
      let expected = 0;
      for (let round = 0; round < 6; round++) {
        await changeUsers(3, `twice-${round}`);
        expected += 9;
        await eventually(async () => (await deliveryCounts(t.db)).delivered === expected);
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
      await expectOncePerEventInSubjectOrder(expected);
    } finally {
      await Promise.all(workers.splice(0).map((w) => w.stop()));
      await other.close();
    }
  });

  it("fails a delivery after its last attempt, and disables an endpoint failing too long (audited)", async () => {
    const endpoint = await register(["user.updated"]);
    receiver.answer(500);
    await changeUsers(1, "failing");
    const worker = started(testWorker(t.db, { maxAttempts: 3 }));
    await eventually(async () => (await deliveryCounts(t.db)).failed === 2);
    await worker.stop();
    // Still enabled: it has not failed for long (an hour, for this worker).
    const before = await t.app.inject({
      method: "GET",
      url: `/api/webhooks/${endpoint.id}`,
      headers: admin.auth,
    });
    expect(before.json()).toMatchObject({ enabled: true, failingSince: expect.any(String) });
    // The next failure, for a worker that gives up on an endpoint at once, disables it.
    await changeUsers(1, "failing-more");
    await testWorker(t.db, { maxAttempts: 3, disableAfterSeconds: 0 }).drainOnce();
    const deliveries = await t.app.inject({
      method: "GET",
      url: `/api/webhooks/${endpoint.id}/deliveries`,
      headers: admin.auth,
    });
    expect(deliveries.statusCode).toBe(200);
    expect(deliveries.json().value.at(-1)).toMatchObject({
      status: "failed",
      attempts: 3,
      lastStatusCode: 500,
    });
    const got = await t.app.inject({
      method: "GET",
      url: `/api/webhooks/${endpoint.id}`,
      headers: admin.auth,
    });
    expect(got.json()).toMatchObject({ enabled: false, disabledReason: expect.any(String) });
    const audit = await t.db
      .selectFrom("audit_log")
      .select(["actor_id", "changes"])
      .where("action", "=", "webhook.disabled")
      .execute();
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actor_id: null, changes: { endpointId: endpoint.id } });
  });

  it("refuses at delivery a host that resolves to loopback when private addresses are not allowed", async () => {
    // Registered while allowed (this app's setting); delivered by a worker that does not allow it.
    await register(["user.created"], receiver.url.replace("127.0.0.1", "localhost"));
    await changeUsers(1, "rebind");
    await testWorker(t.db, {
      maxAttempts: 1,
      policy: { httpsOnly: false, allowPrivate: false },
    }).drainOnce();
    expect(receiver.received).toEqual([]);
    const [delivery] = await t.db.selectFrom("webhook_deliveries").selectAll().execute();
    expect(delivery).toMatchObject({ status: "failed", last_status_code: null });
    expect(delivery?.last_error).toMatch(/localhost resolves to (127\.0\.0\.1|::1)/);
  });

  it("connects to the address it checked for a host name, and never follows a redirect", async () => {
    await register(["user.created"], receiver.url.replace("127.0.0.1", "localhost"));
    await changeUsers(1, "named");
    await testWorker(t.db).drainOnce();
    expect(receiver.received).toHaveLength(1);
    receiver.answer(302);
    await changeUsers(1, "redirected");
    await testWorker(t.db, { maxAttempts: 1 }).drainOnce();
    const [last] = await t.db
      .selectFrom("webhook_deliveries")
      .selectAll()
      .orderBy("id", "desc")
      .limit(1)
      .execute();
    expect(last).toMatchObject({ status: "failed", last_status_code: 302 });
  });

  it("rotates the secret (both signatures for a while) and redelivers one delivery", async () => {
    const endpoint = await register(["user.created"]);
    const rotated = await (await t.callerFor(admin.user)).webhooks.rotateSecret({
      id: endpoint.id,
    });
    expect(rotated.secret).toMatch(/^whsec_/);
    expect(rotated.secret).not.toBe(endpoint.secret);
    await changeUsers(1, "rotated");
    receiver.trust(rotated.secret);
    await testWorker(t.db).drainOnce();
    expect(receiver.received).toHaveLength(1);
    const signatures = String(receiver.received[0]?.headers["webhook-signature"]).split(" ");
    expect(signatures).toHaveLength(2);
    // The old secret still verifies during the grace period.
    receiver.trust(endpoint.secret);
    const list = await t.app.inject({
      method: "GET",
      url: `/api/webhooks/${endpoint.id}/deliveries`,
      headers: admin.auth,
    });
    const deliveryId = list.json().value[0].id;
    const again = await t.app.inject({
      method: "POST",
      url: `/api/webhooks/${endpoint.id}/deliveries/${deliveryId}/redeliver`,
      headers: admin.auth,
    });
    expect(again.statusCode).toBe(202);
    await testWorker(t.db).drainOnce();
    expect(receiver.received).toHaveLength(2);
    expect(receiver.received[1]?.payload.id).toBe(receiver.received[0]?.payload.id);
    const missing = await t.app.inject({
      method: "POST",
      url: `/api/webhooks/${endpoint.id}/deliveries/999999/redeliver`,
      headers: admin.auth,
    });
    expect(missing.statusCode).toBe(404);
  });
});
