import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectError, SECRETS } from "../helpers/expect-error.ts";
import { authenticator, awayFromStepEdge, enrolTotp } from "../helpers/second-factor.ts";
import { createTestApp, PASSWORD, type TestApp } from "../helpers/test-app.ts";

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

const bearer = (accessToken: string) => ({ authorization: `Bearer ${accessToken}` });
const signIn = (app: TestApp, email: string) =>
  app.app.inject({
    method: "POST",
    url: "/api/auth/token",
    payload: { email, password: PASSWORD },
  });

describe("admins and a user's factors", () => {
  it("an admin sees kinds and times, never a secret or code", async () => {
    const admin = await t.userWithToken({ role: "Admin" });
    const user = await t.createUser();
    const { secret, recoveryCodes } = await enrolTotp(t, user);
    const res = await t.app.inject({
      method: "GET",
      url: `/api/users/${user.id}/factors`,
      headers: admin.auth,
    });
    expect(res.statusCode).toBe(200);
    expect(res.body).not.toContain(secret);
    expect(res.body).not.toMatch(/ciphertext|code_hash|v1\./);
    expect(res.body).not.toMatch(SECRETS);
    for (const code of recoveryCodes) expect(res.body).not.toContain(code);
    expect(res.json()).toEqual({
      factors: [
        { kind: "totp", createdAt: expect.any(String), lastUsedAt: expect.any(String) },
        {
          kind: "recovery_code",
          createdAt: expect.any(String),
          lastUsedAt: null,
          remaining: 10,
        },
      ],
    });
  });

  it("deny by default: a User may not look or reset; an Admin may not touch an AppAdmin's", async () => {
    const plain = await t.userWithToken();
    const admin = await t.userWithToken({ role: "Admin" });
    const appAdmin = await t.userWithToken({ role: "AppAdmin" });
    const target = await t.createUser();
    for (const method of ["GET", "DELETE"] as const) {
      const url = `/api/users/${target.id}/factors`;
      expectError(await t.app.inject({ method, url, headers: plain.auth }), 403, "UNAUTHORIZED");
      const onAppAdmin = `/api/users/${appAdmin.user.id}/factors`;
      expectError(
        await t.app.inject({ method, url: onAppAdmin, headers: admin.auth }),
        403,
        "UNAUTHORIZED",
      );
      const missing = `/api/users/2147483000/factors`;
      expectError(
        await t.app.inject({ method, url: missing, headers: admin.auth }),
        404,
        "USER_NOT_FOUND",
      );
      const onAdmin = `/api/users/${admin.user.id}/factors`;
      expect(
        (await t.app.inject({ method: "GET", url: onAdmin, headers: appAdmin.auth })).statusCode,
      ).toBe(200);
    }
  });

  it("a reset removes every factor, ends every session of the user and is audited", async () => {
    const admin = await t.userWithToken({ role: "Admin" });
    const user = await t.createUser();
    await enrolTotp(t, user);
    const sessions = [await t.login(user), await t.login(user)];
    const reset = await t.app.inject({
      method: "DELETE",
      url: `/api/users/${user.id}/factors`,
      headers: admin.auth,
    });
    expect(reset.statusCode).toBe(200);
    for (const pair of sessions) {
      const me = await t.app.inject({
        method: "GET",
        url: "/api/users/me",
        headers: bearer(pair.accessToken),
      });
      expectError(me, 401, "UNAUTHENTICATED");
      const refreshed = await t.app.inject({
        method: "POST",
        url: "/api/auth/refresh",
        payload: { refreshToken: pair.refreshToken },
      });
      expectError(refreshed, 401, "UNAUTHENTICATED");
    }
    const entry = await t.db
      .selectFrom("audit_log")
      .selectAll()
      .where("target_user_id", "=", user.id)
      .where("action", "=", "user.factors_reset")
      .executeTakeFirstOrThrow();
    expect(entry.actor_id).toBe(admin.user.id);
    expect(entry.changes).toEqual({ kinds: ["totp", "recovery_code"] });
    for (const table of ["totp_factors", "recovery_codes", "second_factor_challenges"] as const) {
      const rows = await t.db
        .selectFrom(table)
        .select("user_id")
        .where("user_id", "=", user.id)
        .execute();
      expect(rows).toEqual([]);
    }
    // Back to a password alone: sign-in gives tokens.
    expect((await signIn(t, user.email)).json().refreshToken).toBeTruthy();
  });

  it("the tRPC door: factors.ofUser and factors.reset", async () => {
    const admin = await t.createUser({ role: "AppAdmin" });
    const user = await t.createUser();
    await enrolTotp(t, user);
    const api = await t.callerFor(admin);
    expect((await api.factors.ofUser({ id: user.id })).factors).toHaveLength(2);
    await api.factors.reset({ id: user.id });
    expect((await api.factors.ofUser({ id: user.id })).factors).toEqual([]);
    const asUser = await t.callerFor(await t.createUser());
    await expect(asUser.factors.ofUser({ id: user.id })).rejects.toMatchObject({
      apiCode: "UNAUTHORIZED",
    });
  });
});

describe("REQUIRE_SECOND_FACTOR_FOR_ADMINS=on", () => {
  let strict: TestApp;
  beforeAll(async () => {
    strict = await createTestApp({ REQUIRE_SECOND_FACTOR_FOR_ADMINS: "on" });
  });
  afterAll(() => strict.close());

  it("an admin without a factor gets a token good only for enrolling one; then signs in with it", async () => {
    const admin = await strict.createUser({ role: "Admin" });
    const first = await signIn(strict, admin.email);
    expect(first.statusCode).toBe(200);
    const body = first.json();
    expect(body).toEqual({
      secondFactorEnrolmentRequired: true,
      accessToken: expect.any(String),
      tokenType: "Bearer",
      expiresIn: 900,
    });
    const auth = bearer(body.accessToken);
    for (const [method, url] of [
      ["GET", "/api/users/me"],
      ["GET", "/api/users"],
      ["GET", "/api/users/me/factors"],
      ["POST", "/api/auth/logout-all"],
    ] as const) {
      expectError(
        await strict.app.inject({ method, url, headers: auth }),
        403,
        "SECOND_FACTOR_ENROLMENT_REQUIRED",
      );
    }
    const started = await strict.app.inject({
      method: "POST",
      url: "/api/users/me/factors/totp",
      headers: auth,
    });
    expect(started.statusCode).toBe(201);
    const app = authenticator(started.json().otpauthUri);
    await awayFromStepEdge();
    const confirmed = await strict.app.inject({
      method: "POST",
      url: "/api/users/me/factors/totp/confirm",
      headers: auth,
      payload: { code: app.code(-1) },
    });
    expect(confirmed.statusCode).toBe(200);
    // The enrolment session is over; signing in now asks for the code and gives full tokens.
    expectError(
      await strict.app.inject({ method: "POST", url: "/api/users/me/factors/totp", headers: auth }),
      401,
      "UNAUTHENTICATED",
    );
    const again = await signIn(strict, admin.email);
    const second = await strict.app.inject({
      method: "POST",
      url: "/api/auth/token/second-factor",
      payload: { challenge: again.json().challenge, factor: "totp", code: app.code() },
    });
    expect(second.json().refreshToken).toBeTruthy();
    const me = await strict.app.inject({
      method: "GET",
      url: "/api/users/me",
      headers: bearer(second.json().accessToken),
    });
    expect(me.json().role).toBe("Admin");
  });

  it("an AppAdmin is held to it too; a User is not", async () => {
    const appAdmin = await strict.createUser({ role: "AppAdmin" });
    expect((await signIn(strict, appAdmin.email)).json().secondFactorEnrolmentRequired).toBe(true);
    const user = await strict.createUser();
    expect((await signIn(strict, user.email)).json().refreshToken).toBeTruthy();
  });
});
