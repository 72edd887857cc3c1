import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pruneEvents } from "../../db/events.ts";
import { purgeDeletedUsers } from "../../db/personal-data.ts";
import { enrolTotp } from "../helpers/second-factor.ts";
import { softAuthenticator } from "../helpers/soft-authenticator.ts";
import { createTestApp, PASSWORD, type TestApp } from "../helpers/test-app.ts";
import { ndjson, uploadImport, waitForImport } from "../porting/import-helpers.ts";

// The write paths added beside the events (import, a person's own deletion, second factors,
// passkeys) emit theirs, read back through the feed (GET /api/events) as a consumer would.

let t: TestApp;
let admin: Awaited<ReturnType<TestApp["userWithToken"]>>;
beforeAll(async () => {
  t = await createTestApp();
  admin = await t.userWithToken({ role: "AppAdmin" });
});
afterAll(() => t.close());

type FeedEvent = { id: string; type: string; subject: string; data: Record<string, unknown> };

/** The feed's end now (a cursor to read what comes after). */
async function feedEnd(): Promise<string> {
  let cursor = "0";
  for (;;) {
    const page = await feedPage(cursor);
    if (page.value.length === 0) return cursor;
    cursor = page.cursor;
  }
}

async function feedPage(after: string): Promise<{ value: FeedEvent[]; cursor: string }> {
  const res = await t.app.inject({
    method: "GET",
    url: `/api/events?after=${after}&limit=500`,
    headers: admin.auth,
  });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

/** Every event committed after `cursor`, through the REST door. */
async function eventsAfter(cursor: string): Promise<FeedEvent[]> {
  const events: FeedEvent[] = [];
  for (let after = cursor; ; ) {
    const page = await feedPage(after);
    if (page.value.length === 0) return events;
    events.push(...page.value);
    after = page.cursor;
  }
}

const NO_SECRETS = /password|hash|secret|otpauth|recovery|token_version|public_?key|credential/i;

describe("an import", () => {
  it("emits user.created for each stored user and membership.created for its memberships, in order", async () => {
    const org = await t.db
      .insertInto("organizations")
      .values({ name: "Imported org" })
      .returning("id")
      .executeTakeFirstOrThrow();
    const taken = await t.createUser({ email: "already-here@example.com" });
    const cursor = await feedEnd();
    const job = await uploadImport(
      t,
      admin.auth,
      ndjson([
        {
          email: "imp-1@example.com",
          username: "imp-1",
          firstName: "Imp",
          lastName: "One",
          memberships: [{ organizationId: org.id, role: "Admin" }],
        },
        { email: "bad-email", username: "imp-bad", firstName: "B", lastName: "B" },
        { email: taken.email, username: "imp-taken", firstName: "T", lastName: "T" },
        { email: "imp-2@example.com", username: "imp-2", firstName: "Imp", lastName: "Two" },
      ]),
    );
    const done = await waitForImport(t, admin.auth, job.jobId);
    expect(done).toMatchObject({ status: "succeeded", importedRows: 2, rejectedRows: 2 });

    const events = await eventsAfter(cursor);
    const users = await t.db
      .selectFrom("users")
      .select(["id", "email"])
      .where("email", "in", ["imp-1@example.com", "imp-2@example.com"])
      .orderBy("email")
      .execute();
    const [one, two] = users.map((u) => u.id);
    // Only the stored rows; a rejected one (the taken email) left nothing, event or user.
    expect(events.map((e) => [e.type, e.subject]).sort()).toEqual(
      [
        ["membership.created", `membership:${org.id}:${one}`],
        ["user.created", `user:${one}`],
        ["user.created", `user:${two}`],
      ].sort(),
    );
    const created = events.find((e) => e.subject === `user:${one}`);
    expect(created?.data).toMatchObject({
      id: one,
      email: "imp-1@example.com",
      username: "imp-1",
      firstName: "Imp",
      status: "invited",
    });
    // Each user's creation comes before its membership's.
    const order = events.map((e) => e.subject);
    expect(order.indexOf(`user:${one}`)).toBeLessThan(order.indexOf(`membership:${org.id}:${one}`));
    expect(events.find((e) => e.type === "membership.created")?.data).toEqual({
      organizationId: org.id,
      userId: one,
      role: "Admin",
    });
    for (const event of events) expect(JSON.stringify(event)).not.toMatch(NO_SECRETS);
  });

  it("stores no password hash in an event when the row brings one", async () => {
    const cursor = await feedEnd();
    const hash =
      "$pbkdf2-sha256$i=1000$c2FsdHNhbHRzYWx0c2FsdA$2lZtuqpKV9wGxxZr4rfQIO5V3cn3k5y+H0JQIZ3vWVY";
    const job = await uploadImport(
      t,
      admin.auth,
      ndjson([
        {
          email: "carried@example.com",
          username: "carried",
          firstName: "C",
          lastName: "A",
          passwordHash: hash,
        },
      ]),
    );
    expect((await waitForImport(t, admin.auth, job.jobId)).importedRows).toBe(1);
    const events = await eventsAfter(cursor);
    expect(events.map((e) => e.type)).toEqual(["user.created"]);
    expect(events[0]?.data).toMatchObject({ email: "carried@example.com", status: "active" });
    expect(JSON.stringify(events)).not.toContain("pbkdf2");
    expect(JSON.stringify(events)).not.toMatch(NO_SECRETS);
  });

  it("emits nothing on a dry run", async () => {
    const cursor = await feedEnd();
    const job = await uploadImport(
      t,
      admin.auth,
      ndjson([{ email: "dry@example.com", username: "dry", firstName: "D", lastName: "R" }]),
      { dryRun: true },
    );
    expect(await waitForImport(t, admin.auth, job.jobId)).toMatchObject({
      status: "succeeded",
      importedRows: 1,
    });
    expect(await eventsAfter(cursor)).toEqual([]);
  });
});

describe("deleting one's own account", () => {
  it("emits user.deleted and session.revoked through the REST door (as an admin delete does)", async () => {
    const { user, auth } = await t.userWithToken();
    await t.login(user);
    const cursor = await feedEnd();
    const res = await t.app.inject({
      method: "DELETE",
      url: "/api/users/me",
      headers: auth,
      payload: { currentPassword: PASSWORD },
    });
    expect(res.statusCode, res.body).toBe(200);
    const events = await eventsAfter(cursor);
    expect(events.filter((e) => e.type === "session.revoked")).toHaveLength(2);
    expect(events.every((e) => e.subject === `user:${user.id}`)).toBe(true);
    // The deletion's own event last, after the sessions it ended.
    expect(events.at(-1)).toMatchObject({
      type: "user.deleted",
      data: { id: user.id, status: "deleted", email: user.email },
    });
    const audit = await t.db
      .selectFrom("audit_log")
      .select("action")
      .where("target_user_id", "=", user.id)
      .execute();
    expect(audit.map((a) => a.action)).toEqual(["user.delete.self"]);
  });

  it("emits it once through the tRPC door, and nothing for a wrong password", async () => {
    const user = await t.createUser();
    const caller = await t.callerFor(user);
    const cursor = await feedEnd();
    await expect(
      caller.users.deleteMe({ currentPassword: "not-the-password-at-all" }),
    ).rejects.toMatchObject({ apiCode: "INVALID_CURRENT_PASSWORD" });
    expect(await eventsAfter(cursor)).toEqual([]);
    await caller.users.deleteMe({ currentPassword: PASSWORD });
    const events = await eventsAfter(cursor);
    expect(events.filter((e) => e.type === "user.deleted").map((e) => e.subject)).toEqual([
      `user:${user.id}`,
    ]);
  });

  it("emits one user.deleted when an admin and the person delete the account at once", async () => {
    for (let round = 0; round < 5; round++) {
      const user = await t.createUser();
      const own = await t.callerFor(user);
      const boss = await t.callerFor(admin.user);
      const cursor = await feedEnd();
      const results = await Promise.allSettled([
        own.users.deleteMe({ currentPassword: PASSWORD }),
        boss.users.delete({ id: user.id }),
      ]);
      // The person's own request may fail once the admin's has ended their session.
      expect(results.some((r) => r.status === "fulfilled")).toBe(true);
      const deleted = (await eventsAfter(cursor)).filter((e) => e.type === "user.deleted");
      expect(deleted.map((e) => e.subject)).toEqual([`user:${user.id}`]);
    }
  });
});

describe("second factors and passkeys", () => {
  it("a TOTP enrolment emits user.updated [secondFactors] at its confirmation, with no secret", async () => {
    const user = await t.createUser();
    const cursor = await feedEnd();
    const api = await t.callerFor(user);
    const enrolment = await enrolTotp(t, user);
    const events = await eventsAfter(cursor);
    const updates = events.filter((e) => e.type === "user.updated");
    expect(updates).toHaveLength(1);
    expect(updates[0]).toMatchObject({
      subject: `user:${user.id}`,
      data: { id: user.id, email: user.email, changedFields: ["secondFactors"] },
    });
    const text = JSON.stringify(events);
    expect(text).not.toMatch(NO_SECRETS);
    expect(text).not.toContain(enrolment.secret);
    for (const code of enrolment.recoveryCodes) expect(text).not.toContain(code);

    // New recovery codes, then the removal: one event each.
    const before = await feedEnd();
    await api.factors.regenerateRecoveryCodes();
    const removed = await t.app.inject({
      method: "DELETE",
      url: "/api/users/me/factors/totp",
      headers: { authorization: `Bearer ${(await t.login(user)).accessToken}` },
    });
    expect(removed.statusCode, removed.body).toBe(200);
    // (The login for the REST call emits its own user.signed_in.)
    const later = (await eventsAfter(before)).filter((e) => e.type !== "user.signed_in");
    expect(later.map((e) => [e.type, e.data.changedFields])).toEqual([
      ["user.updated", ["secondFactors"]],
      ["user.updated", ["secondFactors"]],
    ]);
  });

  it("a failed confirmation emits nothing and confirms nothing", async () => {
    const user = await t.createUser();
    const api = await t.callerFor(user);
    await api.factors.enrolTotp();
    const cursor = await feedEnd();
    await expect(api.factors.confirmTotp({ code: "000000" })).rejects.toMatchObject({
      apiCode: "INVALID_SECOND_FACTOR",
    });
    expect(await eventsAfter(cursor)).toEqual([]);
    expect((await api.factors.mine()).factors).toEqual([]);
  });

  it("an admin's factor reset emits user.updated [secondFactors] besides the sessions it ends", async () => {
    const user = await t.createUser();
    await enrolTotp(t, user);
    const cursor = await feedEnd();
    const res = await t.app.inject({
      method: "DELETE",
      url: `/api/users/${user.id}/factors`,
      headers: admin.auth,
    });
    expect(res.statusCode, res.body).toBe(200);
    const events = await eventsAfter(cursor);
    expect(events.filter((e) => e.type === "user.updated")).toMatchObject([
      { subject: `user:${user.id}`, data: { changedFields: ["secondFactors"] } },
    ]);
    expect(events.some((e) => e.type === "session.revoked")).toBe(true);
  });

  it("registering and removing a passkey each emit user.updated [passkeys], never the key", async () => {
    const { user, auth } = await t.userWithToken();
    const device = softAuthenticator(t.config.APP_URL);
    const cursor = await feedEnd();
    const options = await t.app.inject({
      method: "POST",
      url: "/api/users/me/passkeys/registration-options",
      headers: auth,
      payload: {},
    });
    const registered = await t.app.inject({
      method: "POST",
      url: "/api/users/me/passkeys",
      headers: auth,
      payload: { name: "Laptop", webauthn: device.create(options.json()) },
    });
    expect(registered.statusCode, registered.body).toBe(201);
    const caller = await t.callerFor(user);
    await caller.passkeys.remove({ id: registered.json().id });
    const events = (await eventsAfter(cursor)).filter((e) => e.type !== "user.signed_in");
    expect(events.map((e) => [e.type, e.subject, e.data.changedFields])).toEqual([
      ["user.updated", `user:${user.id}`, ["passkeys"]],
      ["user.updated", `user:${user.id}`, ["passkeys"]],
    ]);
    expect(JSON.stringify(events)).not.toMatch(NO_SECRETS);
  });
});

describe("the purge, with events and deliveries about the user", () => {
  it("purges the user, keeps the feed's events until their retention, then prunes them", async () => {
    await t.db
      .insertInto("webhook_endpoints")
      .values({
        url: "https://hooks.example.com/in",
        event_types: ["user.updated", "user.deleted", "session.revoked"],
        secret: "whsec_test-only",
      })
      .execute();
    const user = await t.createUser();
    await enrolTotp(t, user);
    await (await t.callerFor(user)).users.deleteMe({ currentPassword: PASSWORD });
    const subject = `user:${user.id}`;
    const held = await t.db
      .selectFrom("events")
      .innerJoin("webhook_deliveries", "webhook_deliveries.event_id", "events.id")
      .select("events.id")
      .where("events.subject", "=", subject)
      .execute();
    expect(held.length).toBeGreaterThan(0);
    await t.db
      .updateTable("users")
      .set({ deleted_at: sql`now() - interval '40 days'` })
      .where("id", "=", user.id)
      .execute();
    expect(await purgeDeletedUsers(t.db, 30, 200)).toBeGreaterThanOrEqual(1);
    expect(
      await t.db.selectFrom("users").select("id").where("id", "=", user.id).executeTakeFirst(),
    ).toBeUndefined();
    const kept = await t.db
      .selectFrom("events")
      .select("type")
      .where("subject", "=", subject)
      .execute();
    expect(kept.map((e) => e.type)).toContain("user.deleted");

    await t.db
      .updateTable("events")
      .set({ occurred_at: sql`now() - interval '40 days'` })
      .where("subject", "=", subject)
      .execute();
    expect(await pruneEvents(t.db, 30)).toBeGreaterThanOrEqual(kept.length);
    const after = await t.db
      .selectFrom("events")
      .leftJoin("webhook_deliveries", "webhook_deliveries.event_id", "events.id")
      .select("events.id")
      .where("events.subject", "=", subject)
      .execute();
    expect(after).toEqual([]);
    const orphans = await t.db
      .selectFrom("webhook_deliveries")
      .select("id")
      .where(
        "event_id",
        "in",
        held.map((h) => h.id),
      )
      .execute();
    expect(orphans).toEqual([]);
    await t.db.deleteFrom("webhook_endpoints").execute();
  });
});
