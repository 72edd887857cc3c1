/**
 * OWASP API Security Top 10 (2023) — API2:2023 Broken Authentication.
 * OWASP ASVS 5.0: V6.3.1 (credential stuffing and brute force resisted: per-account lockout and
 * per-address limits), V6.3.8 (no account enumeration: a locked, unknown or wrong-password login
 * answers alike), V8.3.2 (a change of role applies at once), V7.4.x / V9.2.x (token
 * revocation and verification).
 *
 * Here: the per-(account, address) lock (the right password refused there with the very same
 * body, while the owner still logs in from elsewhere), its reset on success, the per-address
 * login limit (429 + Retry-After), and a demotion refusing admin routes at once. Concurrent
 * guessing and the account-wide lock are in login-lock.test.ts. JWT attacks (alg none, key
 * confusion, forged/expired tokens, claims) are in test/auth/jwt.test.ts; revocation
 * after password change, suspension, deletion, logout-all and demotion in
 * test/auth/revocation.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ZTokenPair } from "../../routers/auth/token-schema.ts";
import { ZApiErrorBody } from "../../server/errors/api-errors.ts";
import { expectInvalidCredentials } from "../helpers/expect-error.ts";
import { createTestApp, PASSWORD, type TestApp } from "../helpers/test-app.ts";

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({
    RATE_LIMIT: "on",
    LOGIN_LOCK_AFTER_FAILURES: "3",
    LOGIN_LIMIT_PER_IP: "5",
  });
});
afterAll(() => t.close());

const WRONG = "definitely-not-the-password-42";

const login = (email: string, password: string, remoteAddress = "198.51.100.1") =>
  t.app.inject({
    method: "POST",
    url: "/api/auth/token",
    payload: { email, password },
    remoteAddress,
  });

describe.concurrent("API2 per-account lockout", () => {
  it("after N failures from an address even the right password gets the wrong-password answer there", async () => {
    const user = await t.createUser();
    const address = "203.0.113.1";
    const wrongBodies: string[] = [];
    for (let i = 0; i < 3; i++) {
      wrongBodies.push(expectInvalidCredentials(await login(user.email, `${WRONG}${i}`, address)));
    }
    const locked = await login(user.email, PASSWORD, address);
    const lockedBody = expectInvalidCredentials(locked);
    expect(lockedBody).toBe(wrongBodies[0]);
    expect(new Set(wrongBodies).size).toBe(1);
    // Nothing in the headers tells a lock from a wrong password either.
    expect(locked.headers["retry-after"]).toBeUndefined();
    // An unknown email answers the same.
    expect(
      expectInvalidCredentials(await login("nobody-at-all@example.com", WRONG, "203.0.113.5")),
    ).toBe(lockedBody);
    // No session was started for the locked account.
    const sessions = await t.db
      .selectFrom("sessions")
      .select("id")
      .where("user_id", "=", user.id)
      .execute();
    expect(sessions).toEqual([]);
  });

  it("the lock is the guessing address's: the owner still logs in from another one", async () => {
    const user = await t.createUser();
    for (let i = 0; i < 3; i++) await login(user.email, WRONG, "203.0.113.6");
    expectInvalidCredentials(await login(user.email, PASSWORD, "203.0.113.6"));
    const owner = await login(user.email, PASSWORD, "203.0.113.7");
    expect(owner.statusCode, owner.body).toBe(200);
    ZTokenPair.strict().parse(owner.json());
  });

  it("the lock is per account: another account logs in from the same address", async () => {
    const victim = await t.createUser();
    for (let i = 0; i < 3; i++) await login(victim.email, WRONG, "203.0.113.10");
    const other = await t.createUser();
    const res = await login(other.email, PASSWORD, "203.0.113.11");
    expect(res.statusCode, res.body).toBe(200);
    ZTokenPair.strict().parse(res.json());
  });

  it("the email's case does not get around the lock", async () => {
    const user = await t.createUser();
    for (let i = 0; i < 3; i++) await login(user.email, WRONG, "203.0.113.20");
    expectInvalidCredentials(await login(user.email.toUpperCase(), PASSWORD, "203.0.113.20"));
  });

  it("a success before the limit clears the count", async () => {
    const user = await t.createUser();
    const address = "203.0.113.30";
    await login(user.email, WRONG, address);
    await login(user.email, WRONG, address);
    expect((await login(user.email, PASSWORD, address)).statusCode).toBe(200);
    // Three failures in all from here, but only one since the success (five requests: within
    // the address's request limit).
    await login(user.email, WRONG, address);
    expect((await login(user.email, PASSWORD, address)).statusCode).toBe(200);
  });
});

describe("API2 per-address login limit", () => {
  it("beyond LOGIN_LIMIT_PER_IP an address gets 429 with Retry-After, even with the right password; others do not", async () => {
    const address = "192.0.2.77";
    const user = await t.createUser();
    for (let i = 0; i < 5; i++) {
      // Different unknown emails: no account lock involved, only the address counts.
      expectInvalidCredentials(await login(`stuffing-${i}@example.com`, WRONG, address));
    }
    for (const attempt of [
      login(`stuffing-9@example.com`, WRONG, address),
      login(user.email, PASSWORD, address),
    ]) {
      const res = await attempt;
      expect(res.statusCode, res.body).toBe(429);
      expect(ZApiErrorBody.strict().parse(res.json()).code).toBe("RATE_LIMITED");
      const retryAfter = Number(res.headers["retry-after"]);
      expect(Number.isInteger(retryAfter)).toBe(true);
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(900);
    }
    expect((await login(user.email, PASSWORD, "192.0.2.78")).statusCode).toBe(200);
  });

  it("X-Forwarded-For is not believed without TRUST_PROXY (the limit cannot be dodged)", async () => {
    const address = "192.0.2.88";
    for (let i = 0; i < 5; i++) await login(`xff-${i}@example.com`, WRONG, address);
    const res = await t.app.inject({
      method: "POST",
      url: "/api/auth/token",
      payload: { email: "xff-x@example.com", password: WRONG },
      remoteAddress: address,
      headers: { "x-forwarded-for": "10.9.8.7" },
    });
    expect(res.statusCode).toBe(429);
  });
});

describe("API2 role changes apply at once", () => {
  it("an Admin demoted to User is refused admin routes with the token issued before", async () => {
    const appAdmin = await t.userWithToken({ role: "AppAdmin" });
    const admin = await t.userWithToken({ role: "Admin" });
    const before = await t.app.inject({
      method: "POST",
      url: "/api/users",
      headers: admin.auth,
      payload: { email: "demote-probe@example.com", firstName: "A", lastName: "B" },
    });
    expect(before.statusCode, before.body).toBe(201);

    const demote = await t.app.inject({
      method: "PATCH",
      url: `/api/users/${admin.user.id}`,
      headers: appAdmin.auth,
      payload: { role: "User" },
    });
    expect(demote.statusCode, demote.body).toBe(200);

    for (const request of [
      {
        method: "POST" as const,
        url: "/api/users",
        payload: { email: "demote-probe-2@example.com", firstName: "A", lastName: "B" },
      },
      { method: "DELETE" as const, url: `/api/users/${appAdmin.user.id}` },
      {
        method: "PUT" as const,
        url: `/api/users/${appAdmin.user.id}/password`,
        payload: { newPassword: "copper-meadow-silent-83-falcon" },
      },
    ]) {
      const res = await t.app.inject({ ...request, headers: admin.auth });
      // Either the old token is refused outright, or the role is re-read: never allowed.
      expect([401, 403], `${request.method} ${request.url}: ${res.body}`).toContain(res.statusCode);
    }
  });

  it("an AppAdmin demoted to Admin loses the AppAdmin-only routes at once", async () => {
    const appAdmin = await t.userWithToken({ role: "AppAdmin" });
    const other = await t.userWithToken({ role: "AppAdmin" });
    expect(
      (await t.app.inject({ method: "GET", url: "/api/audit", headers: other.auth })).statusCode,
    ).toBe(200);
    const demote = await t.app.inject({
      method: "PATCH",
      url: `/api/users/${other.user.id}`,
      headers: appAdmin.auth,
      payload: { role: "Admin" },
    });
    expect(demote.statusCode, demote.body).toBe(200);
    for (const url of ["/api/audit", "/api/organizations", `/api/users/${appAdmin.user.id}/mail`]) {
      const res = await t.app.inject({ method: "GET", url, headers: other.auth });
      expect([401, 403], `${url}: ${res.body}`).toContain(res.statusCode);
    }
  });
});
