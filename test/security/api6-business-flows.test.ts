/**
 * OWASP API Security Top 10 (2023) — API6:2023 Unrestricted Access to Sensitive Business Flows.
 * OWASP ASVS 5.0: V2.4.1 (anti-automation on business flows: signup, mail sending, password
 * reset), V2.4.2 (realistic human timing: one mail of a kind per user per minute), V6.3.1 (the
 * password-change flow cannot brute-force the current password), V6.3.8 / V6.4.x (the reset
 * flow does not reveal which addresses have accounts: per-recipient limits stay silent).
 *
 * With RATE_LIMIT on and small limits: a signup flood from one address → 429 (others unaffected,
 * nothing created); mail bombing through reissue → 429 with Retry-After and one mail queued;
 * a password-reset flood → 429 past the per-address limit, while per-recipient limits answer
 * 202 with the same body and queue no more mail; own-password changes per account → 429.
 * Login brute force is in api2-authentication.test.ts.
 */
import type { LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ZApiErrorBody } from "../../server/errors/api-errors.ts";
import { testWorker } from "../helpers/mail-harness.ts";
import { createTestApp, PASSWORD, type TestApp } from "../helpers/test-app.ts";

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({
    RATE_LIMIT: "on",
    SIGNUP_LIMIT_PER_HOUR: "3",
    RESET_LIMIT_PER_IP: "3",
    PASSWORD_LIMIT_PER_ACCOUNT: "2",
  });
});
afterAll(() => t.close());

function expectRateLimited(res: LightMyRequestResponse, maxRetryAfter: number) {
  expect(res.statusCode, res.body).toBe(429);
  expect(ZApiErrorBody.strict().parse(res.json()).code).toBe("RATE_LIMITED");
  const retryAfter = Number(res.headers["retry-after"]);
  expect(Number.isInteger(retryAfter), `Retry-After: ${res.headers["retry-after"]}`).toBe(true);
  expect(retryAfter).toBeGreaterThan(0);
  expect(retryAfter).toBeLessThanOrEqual(maxRetryAfter);
}

const mails = async (userId: number, kind: string) =>
  (
    await t.db
      .selectFrom("mail_outbox")
      .select("id")
      .where("user_id", "=", userId)
      .where("kind", "=", kind)
      .execute()
  ).length;

let n = 0;
const signup = (remoteAddress: string) =>
  t.app.inject({
    method: "POST",
    url: "/api/users/signup",
    remoteAddress,
    payload: {
      email: `flood-${++n}-${Date.now()}@example.com`,
      password: PASSWORD,
      firstName: "Flood",
      lastName: "Er",
    },
  });

describe("API6 signup flood", () => {
  it("beyond SIGNUP_LIMIT_PER_HOUR from one address: 429 with Retry-After, nothing created; another address still signs up", async () => {
    const address = "198.51.100.50";
    for (let i = 0; i < 3; i++) expect((await signup(address)).statusCode).toBe(201);
    const before = await t.db.selectFrom("users").select("id").execute();
    const flooded = await signup(address);
    expectRateLimited(flooded, 3600);
    const after = await t.db.selectFrom("users").select("id").execute();
    expect(after.length).toBe(before.length);
    expect((await signup("198.51.100.51")).statusCode).toBe(201);
  });

  it("a concurrent burst from one address gets at most the limit through", async () => {
    const address = "198.51.100.60";
    const responses = await Promise.all(Array.from({ length: 8 }, () => signup(address)));
    const created = responses.filter((res) => res.statusCode === 201).length;
    expect(created).toBeLessThanOrEqual(3);
    for (const res of responses) expect([201, 429]).toContain(res.statusCode);
  });
});

describe("API6 mail bombing through reissue", () => {
  it("a second verification reissue within 60 s is 429 with Retry-After, and only one mail is queued", async () => {
    const { user, auth } = await t.userWithToken({ status: "pending", emailVerified: false });
    const url = `/api/users/${user.id}/verification`;
    const first = await t.app.inject({ method: "POST", url, headers: auth });
    expect(first.statusCode, first.body).toBe(200);
    for (let i = 0; i < 3; i++) {
      expectRateLimited(await t.app.inject({ method: "POST", url, headers: auth }), 60);
    }
    expect(await mails(user.id, "verification")).toBe(1);
    // An admin cannot add to the same user's mails within the minute either.
    const admin = await t.userWithToken({ role: "Admin" });
    expectRateLimited(await t.app.inject({ method: "POST", url, headers: admin.auth }), 60);
    expect(await mails(user.id, "verification")).toBe(1);
  });

  it("a second invitation reissue within 60 s is 429 with Retry-After", async () => {
    const admin = await t.userWithToken({ role: "AppAdmin" });
    const invited = await t.createUser({ status: "invited", emailVerified: false });
    const url = `/api/users/${invited.id}/invitation`;
    const first = await t.app.inject({ method: "POST", url, headers: admin.auth });
    expect(first.statusCode, first.body).toBe(200);
    expectRateLimited(await t.app.inject({ method: "POST", url, headers: admin.auth }), 60);
    expect(await mails(invited.id, "invitation")).toBe(1);
  });
});

describe("API6 password-reset flood", () => {
  const reset = (email: string, remoteAddress: string) =>
    t.app.inject({
      method: "POST",
      url: "/api/auth/password-reset",
      payload: { email },
      remoteAddress,
    });

  it("beyond RESET_LIMIT_PER_IP from one address: 429 with Retry-After", async () => {
    const address = "192.0.2.150";
    const user = await t.createUser();
    for (const email of [user.email, "unknown-1@example.com", "unknown-2@example.com"]) {
      expect((await reset(email, address)).statusCode).toBe(202);
    }
    expectRateLimited(await reset(user.email, address), 3600);
    expectRateLimited(await reset("unknown-3@example.com", address), 3600);
  });

  it("per-recipient limits stay silent: 202 with the same body for known and unknown, no more mails queued", async () => {
    const user = await t.createUser();
    const bodies = new Set<string>();
    for (let i = 0; i < 6; i++) {
      // A fresh address each time: only the per-recipient limits apply.
      const res = await reset(user.email, `192.0.2.${160 + i}`);
      expect(res.statusCode, res.body).toBe(202);
      expect(res.headers["retry-after"]).toBeUndefined();
      bodies.add(res.body);
    }
    const unknown = await reset("nobody-here@example.com", "192.0.2.170");
    expect(unknown.statusCode).toBe(202);
    bodies.add(unknown.body);
    expect(bodies.size).toBe(1);
    // The mail worker turns the one request that passed the limits into the one mail.
    await (await testWorker(t)).drainOnce();
    expect(await mails(user.id, "password_reset")).toBe(1);
  });
});

describe("API6 own-password change", () => {
  it("beyond PASSWORD_LIMIT_PER_ACCOUNT: 429, so the current password cannot be guessed through it", async () => {
    const { user, auth } = await t.userWithToken();
    const change = (currentPassword: string) =>
      t.app.inject({
        method: "PUT",
        url: "/api/users/password",
        headers: auth,
        payload: { currentPassword, newPassword: "copper-meadow-silent-83-falcon" },
      });
    for (let i = 0; i < 2; i++) {
      const res = await change(`guess-number-${i}-of-many`);
      expect(res.statusCode, res.body).toBe(403);
    }
    expectRateLimited(await change(PASSWORD), 900);
    // The password did not change.
    const login = await t.app.inject({
      method: "POST",
      url: "/api/auth/token",
      payload: { email: user.email, password: PASSWORD },
      remoteAddress: "192.0.2.199",
    });
    expect(login.statusCode).toBe(200);
  });
});
