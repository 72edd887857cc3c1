import { setTimeout as sleep } from "node:timers/promises";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recordEvent, recordUserEvent } from "../../db/events.ts";
import { createTestApp, PASSWORD, type TestApp } from "../helpers/test-app.ts";
import { testWorker } from "./helpers.ts";

let t: TestApp;
let admin: Awaited<ReturnType<TestApp["userWithToken"]>>;

beforeAll(async () => {
  t = await createTestApp();
  admin = await t.userWithToken({ role: "AppAdmin" });
});
afterAll(() => t.close());

type FeedPage = {
  value: { id: string; type: string; cursor: string; data: Record<string, unknown> }[];
  cursor: string;
};

async function restPage(after: string, limit: number): Promise<FeedPage> {
  const res = await t.app.inject({
    method: "GET",
    url: `/api/events?after=${after}&limit=${limit}`,
    headers: admin.auth,
  });
  expect(res.statusCode).toBe(200);
  return res.json();
}

/** Reads the feed from `after` until an empty page; returns the events and the last cursor. */
async function readAll(after: string, limit = 50) {
  const events: FeedPage["value"] = [];
  let cursor = after;
  for (;;) {
    const page = await restPage(cursor, limit);
    if (page.value.length === 0) return { events, cursor };
    events.push(...page.value);
    cursor = page.cursor;
  }
}

describe("the change feed", () => {
  it("shows what the API changed, with the user's public fields and changed field names", async () => {
    const { cursor } = await readAll("0");
    const caller = await t.callerFor(admin.user);
    const created = await caller.users.create({
      email: "feed-subject@example.com",
      firstName: "Feed",
      lastName: "Subject",
    });
    await caller.users.edit({ id: created.id, firstName: "Fed" });
    await caller.users.delete({ id: created.id });
    const { events } = await readAll(cursor);
    const mine = events.filter((e) => e.data.id === created.id);
    expect(mine.map((e) => e.type)).toEqual(["user.created", "user.updated", "user.deleted"]);
    expect(mine[1]?.data).toMatchObject({ firstName: "Fed", changedFields: ["firstName"] });
    for (const event of events) {
      expect(JSON.stringify(event)).not.toMatch(/password|hash|token_version/i);
    }
  });

  it("has an event for each kind of change, through the API", async () => {
    const { cursor } = await readAll("0");
    const caller = await t.callerFor(admin.user);
    // Signup, then its verification link.
    const signup = await t.app.inject({
      method: "POST",
      url: "/api/users/signup",
      payload: { email: "kinds@example.com", password: PASSWORD, firstName: "K", lastName: "Inds" },
    });
    expect(signup.statusCode).toBe(201);
    const userId: number = signup.json().id;
    const mail = await t.db
      .selectFrom("mail_outbox")
      .select("payload")
      .where("user_id", "=", userId)
      .executeTakeFirstOrThrow();
    const token = new URL(String(mail.payload?.link)).searchParams.get("token");
    await caller.users.confirmVerification({ token: String(token) });
    // Sign in, update own profile, sign out.
    const login = await t.app.inject({
      method: "POST",
      url: "/api/auth/token",
      payload: { email: "kinds@example.com", password: PASSWORD },
    });
    expect(login.statusCode).toBe(200);
    const auth = { authorization: `Bearer ${login.json().accessToken}` };
    const patched = await t.app.inject({
      method: "PATCH",
      url: "/api/users/me",
      headers: auth,
      payload: { lastName: "Kinds" },
    });
    expect(patched.statusCode).toBe(200);
    await t.app.inject({
      method: "POST",
      url: "/api/auth/logout",
      payload: { refreshToken: login.json().refreshToken },
    });
    await caller.users.setPassword({ id: userId, newPassword: `${PASSWORD}-2` });
    await caller.users.delete({ id: userId });
    await caller.users.restore({ id: userId });
    // An organization and a membership, from birth to deletion.
    const org = await caller.organizations.create({ name: "Kinds Inc" });
    await caller.organizations.edit({ id: org.id, name: "Kinds Ltd" });
    await caller.organizations.putMember({ id: org.id, userId, role: "Member" });
    await caller.organizations.putMember({ id: org.id, userId, role: "Admin" });
    await caller.organizations.deleteMember({ id: org.id, userId });
    await caller.organizations.delete({ id: org.id });

    const { events } = await readAll(cursor);
    const about = (subject: string) =>
      events.filter((e) => (e as { subject?: string }).subject === subject).map((e) => e.type);
    expect(about(`user:${userId}`)).toEqual([
      "user.created",
      "user.email_verified",
      "user.signed_in",
      "user.updated",
      "session.revoked",
      "user.password_changed",
      "user.deleted",
      "user.restored",
    ]);
    expect(about(`organization:${org.id}`)).toEqual([
      "organization.created",
      "organization.updated",
      "organization.deleted",
    ]);
    expect(about(`membership:${org.id}:${userId}`)).toEqual([
      "membership.created",
      "membership.updated",
      "membership.deleted",
    ]);
    const updated = events.find((e) => e.type === "user.updated");
    expect(updated?.data).toMatchObject({ lastName: "Kinds", changedFields: ["lastName"] });
    const revoked = events.find((e) => e.type === "session.revoked");
    expect(revoked?.data).toEqual({ sessionId: expect.any(Number), userId });
    const membership = events.find((e) => e.type === "membership.updated");
    expect(membership?.data).toEqual({ organizationId: org.id, userId, role: "Admin" });
    for (const event of events) {
      expect(JSON.stringify(event)).not.toMatch(/argon2|password_hash|refresh|token/i);
    }
  });

  it("prunes events older than the retention, through the worker", async () => {
    const user = await t.createUser();
    await t.db.transaction().execute((tx) => recordUserEvent(tx, "user.updated", user.id, []));
    await t.db
      .updateTable("events")
      .set({ occurred_at: sql`now() - interval '31 days'` })
      .where("subject", "=", `user:${user.id}`)
      .execute();
    await t.db.transaction().execute((tx) => recordUserEvent(tx, "user.signed_in", user.id));
    await testWorker(t.db, { retentionDays: 30 }).drainOnce();
    const left = await t.db
      .selectFrom("events")
      .select("type")
      .where("subject", "=", `user:${user.id}`)
      .execute();
    expect(left.map((e) => e.type)).toEqual(["user.signed_in"]);
  });

  it("emits nothing for a change that rolls back", async () => {
    const { cursor } = await readAll("0");
    const user = await t.createUser();
    await expect(
      t.db.transaction().execute(async (tx) => {
        await tx
          .updateTable("users")
          .set({ first_name: "Gone" })
          .where("id", "=", user.id)
          .execute();
        await recordUserEvent(tx, "user.updated", user.id, ["first_name"]);
        throw new Error("rolled back");
      }),
    ).rejects.toThrow("rolled back");
    // A later committed event proves the reader has looked past where the rolled-back one was.
    await t.db.transaction().execute((tx) => recordUserEvent(tx, "user.signed_in", user.id));
    const { events } = await readAll(cursor);
    expect(events.map((e) => e.type)).toEqual(["user.signed_in"]);
  });

  it("refuses non-AppAdmins and bad cursors", async () => {
    const plain = await t.userWithToken({ role: "Admin" });
    const res = await t.app.inject({ method: "GET", url: "/api/events", headers: plain.auth });
    expect(res.statusCode).toBe(403);
    for (const bad of ["-1", "abc", "1".repeat(30)]) {
      const r = await t.app.inject({
        method: "GET",
        url: `/api/events?after=${bad}`,
        headers: admin.auth,
      });
      expect(r.statusCode).toBe(400);
      expect(r.json().code).toBe("VALIDATION_ERROR");
    }
    const big = await t.app.inject({
      method: "GET",
      url: "/api/events?limit=5000",
      headers: admin.auth,
    });
    expect(big.statusCode).toBe(400);
  });

  it("gives every committed event exactly once across pages while concurrent writes commit out of id order", async () => {
    const { cursor: start } = await readAll("0");
    const rounds = 8;
    const writersPerRound = 12;
    const committed = new Set<string>();
    const rolledBack = new Set<string>();
    let writing = true;
    const seen: string[] = [];
    // The consumer pages all the time the writers write.
    const consumer = (async () => {
      let cursor = start;
      for (;;) {
        const done = !writing;
        const page = await restPage(cursor, 7);
        for (const e of page.value) seen.push(String(e.data.tag));
        if (page.value.length > 0) cursor = page.cursor;
        else if (done) return;
        else await sleep(2);
      }
    })();
    for (let round = 0; round < rounds; round++) {
      await Promise.all(
        Array.from({ length: writersPerRound }, async (_, i) => {
          const tag = `r${round}w${i}`;
          const rollBack = i % 5 === 4;
          try {
            await t.db.transaction().execute(async (tx) => {
              await recordEvent(tx, {
                type: "organization.updated",
                subject: `test:${tag}`,
                data: { tag },
              });
              // Held open for a while: later writers insert higher ids and commit first.
              await sleep(Math.floor(Math.random() * 15));
              if (rollBack) throw new Error("rolled back");
            });
            committed.add(tag);
          } catch {
            rolledBack.add(tag);
          }
        }),
      );
    }
    writing = false;
    await consumer;
    expect(rolledBack.size).toBeGreaterThan(0);
    expect(new Set(seen).size).toBe(seen.length); // no duplicates
    expect(new Set(seen)).toEqual(committed); // no gaps, nothing rolled back
  });
});
