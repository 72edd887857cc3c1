import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCaller } from "../../routers/router.ts";
import type { Caller } from "../../server/auth/authenticate.ts";
import { requireRecentAuth } from "../../server/auth/step-up.ts";
import { createContext } from "../../server/context.ts";
import { expectError } from "../helpers/expect-error.ts";
import { agedAccessToken, authenticator, enrolTotp } from "../helpers/second-factor.ts";
import { createTestApp, PASSWORD, type TestApp } from "../helpers/test-app.ts";

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

const bearer = (accessToken: string) => ({ authorization: `Bearer ${accessToken}` });

const removeTotp = (accessToken: string) =>
  t.app.inject({
    method: "DELETE",
    url: "/api/users/me/factors/totp",
    headers: bearer(accessToken),
  });
const regenerate = (accessToken: string) =>
  t.app.inject({
    method: "POST",
    url: "/api/users/me/factors/recovery-codes",
    headers: bearer(accessToken),
  });
const stepUp = (accessToken: string, payload: Record<string, unknown>) =>
  t.app.inject({ method: "POST", url: "/api/auth/step-up", headers: bearer(accessToken), payload });

describe("auth_time", () => {
  it("sign-in sets it, refresh keeps it, step-up renews it", async () => {
    const user = await t.createUser();
    const before = Math.floor(Date.now() / 1000) - 5;
    const pair = await t.login(user);
    const authTime = decodeJwt(pair.accessToken).auth_time as number;
    expect(authTime).toBeGreaterThanOrEqual(before);
    await t.db
      .updateTable("sessions")
      .set({ authenticated_at: new Date(Date.now() - 3_600_000) })
      .where("user_id", "=", user.id)
      .execute();
    const refreshed = await t.app.inject({
      method: "POST",
      url: "/api/auth/refresh",
      payload: { refreshToken: pair.refreshToken },
    });
    const aged = decodeJwt(refreshed.json().accessToken).auth_time as number;
    expect(Math.abs(aged - (Date.now() / 1000 - 3600))).toBeLessThan(10);

    const stepped = await stepUp(refreshed.json().accessToken, { password: PASSWORD });
    expect(stepped.statusCode).toBe(200);
    expect(Object.keys(stepped.json()).sort()).toEqual(["accessToken", "expiresIn", "tokenType"]);
    const renewed = decodeJwt(stepped.json().accessToken).auth_time as number;
    expect(renewed).toBeGreaterThanOrEqual(before);
    // The session remembers it: the next refresh carries the stepped-up time.
    const next = await t.app.inject({
      method: "POST",
      url: "/api/auth/refresh",
      payload: { refreshToken: refreshed.json().refreshToken },
    });
    expect(decodeJwt(next.json().accessToken).auth_time).toBe(renewed);
  });

  it("requireRecentAuth: within STEP_UP_SECONDS passes, beyond it is STEP_UP_REQUIRED", () => {
    const caller = (ageSeconds: number): Caller => ({
      id: 1,
      role: "User",
      status: "active",
      email: "a@example.com",
      username: "a",
      sessionId: 1,
      authTime: Math.floor(Date.now() / 1000) - ageSeconds,
      enrolmentOnly: false,
    });
    expect(() => requireRecentAuth({ config: t.config, user: caller(290) })).not.toThrow();
    expect(() => requireRecentAuth({ config: t.config, user: caller(310) })).toThrow(
      expect.objectContaining({ apiCode: "STEP_UP_REQUIRED" }),
    );
    expect(() =>
      requireRecentAuth({ config: t.config, user: { ...caller(0), authTime: 0 } }),
    ).toThrow(expect.objectContaining({ apiCode: "STEP_UP_REQUIRED" }));
  });
});

describe("step-up refusals and success", () => {
  it("an old sign-in cannot remove TOTP or regenerate codes; a TOTP step-up then can", async () => {
    const user = await t.createUser();
    const { app, firstCode } = await enrolTotp(t, user);
    const old = await agedAccessToken(t, user);
    const refused = expectError(await removeTotp(old), 403, "STEP_UP_REQUIRED");
    expect(refused.message).toContain("/api/auth/step-up");
    expectError(await regenerate(old), 403, "STEP_UP_REQUIRED");
    // With a factor, the password no longer steps up.
    expectError(await stepUp(old, { password: PASSWORD }), 403, "STEP_UP_REQUIRED");
    expectError(
      await stepUp(old, { factor: "totp", code: firstCode }),
      401,
      "INVALID_SECOND_FACTOR",
    ); // spent by the enrolment
    const stepped = await stepUp(old, { factor: "totp", code: app.code() });
    expect(stepped.statusCode).toBe(200);
    const fresh = stepped.json().accessToken as string;

    const codes = await regenerate(fresh);
    expect(codes.statusCode).toBe(200);
    expect(codes.json().recoveryCodes).toHaveLength(10);
    expect((await removeTotp(fresh)).statusCode).toBe(200);
    // No factor left: the recovery codes went with it, and sign-in gives tokens at once.
    const factors = await t.app.inject({
      method: "GET",
      url: "/api/users/me/factors",
      headers: bearer(fresh),
    });
    expect(factors.json()).toEqual({ factors: [] });
    const signIn = await t.app.inject({
      method: "POST",
      url: "/api/auth/token",
      payload: { email: user.email, password: PASSWORD },
    });
    expect(signIn.json().refreshToken).toBeTruthy();
    expectError(await removeTotp(fresh), 404, "NOT_FOUND");
    expectError(await regenerate(fresh), 409, "CONFLICT");
  });

  it("confirming an authenticator needs a recent sign-in too (a stolen token cannot add one)", async () => {
    const user = await t.createUser();
    const old = await agedAccessToken(t, user);
    const started = await t.app.inject({
      method: "POST",
      url: "/api/users/me/factors/totp",
      headers: bearer(old),
    });
    expect(started.statusCode).toBe(201);
    const phone = authenticator(started.json().otpauthUri);
    const confirm = (accessToken: string) =>
      t.app.inject({
        method: "POST",
        url: "/api/users/me/factors/totp/confirm",
        headers: bearer(accessToken),
        payload: { code: phone.code() },
      });
    expectError(await confirm(old), 403, "STEP_UP_REQUIRED");
    const stepped = await stepUp(old, { password: PASSWORD });
    expect((await confirm(stepped.json().accessToken)).statusCode).toBe(200);
  });

  it("regenerated codes replace the old ones", async () => {
    const user = await t.createUser();
    const { recoveryCodes: old } = await enrolTotp(t, user);
    const fresh = (await t.login(user)).accessToken;
    const renewed = (await regenerate(fresh)).json().recoveryCodes as string[];
    expect(renewed.filter((code) => old.includes(code))).toEqual([]);
    const session = (await t.login(user)).accessToken;
    expectError(
      await stepUp(session, { factor: "recovery_code", code: old[0] }),
      401,
      "INVALID_SECOND_FACTOR",
    );
    expect((await stepUp(session, { factor: "recovery_code", code: renewed[0] })).statusCode).toBe(
      200,
    );
  });

  it("without a factor the password steps up; a wrong one is INVALID_CURRENT_PASSWORD", async () => {
    const user = await t.createUser();
    const old = await agedAccessToken(t, user);
    expectError(
      await stepUp(old, { password: `${PASSWORD}-nope` }),
      403,
      "INVALID_CURRENT_PASSWORD",
    );
    expect((await stepUp(old, { password: PASSWORD })).statusCode).toBe(200);
  });

  it("one recovery code raced by 5 concurrent step-ups: exactly one succeeds, in each of 6 rounds", async () => {
    const user = await t.createUser();
    const { recoveryCodes } = await enrolTotp(t, user);
    const { accessToken } = await t.login(user);
    for (let round = 0; round < 6; round++) {
      const answers = await Promise.all(
        Array.from({ length: 5 }, () =>
          stepUp(accessToken, { factor: "recovery_code", code: recoveryCodes[round] }),
        ),
      );
      expect(answers.filter((res) => res.statusCode === 200)).toHaveLength(1);
    }
  });

  it("bad input is a 400: nothing, both kinds, a factor without its code", async () => {
    const { accessToken } = await t.login(await t.createUser());
    for (const payload of [
      {},
      { password: PASSWORD, factor: "totp", code: "123456" },
      { factor: "totp" },
      { code: "123456" },
      { factor: "sms", code: "123456" },
    ]) {
      expectError(await stepUp(accessToken, payload), 400, "VALIDATION_ERROR");
    }
    const anonymous = await t.app.inject({
      method: "POST",
      url: "/api/auth/step-up",
      payload: { password: PASSWORD },
    });
    expectError(anonymous, 401, "UNAUTHENTICATED");
  });

  it("the tRPC door: STEP_UP_REQUIRED, then auth.stepUp and the change", async () => {
    const user = await t.createUser();
    const { app } = await enrolTotp(t, user);
    const old = await agedAccessToken(t, user);
    const api = createCaller(createContext(t.deps, bearer(old)));
    await expect(api.factors.removeTotp()).rejects.toMatchObject({ apiCode: "STEP_UP_REQUIRED" });
    const { accessToken } = await api.auth.stepUp({ factor: "totp", code: app.code() });
    const fresh = createCaller(createContext(t.deps, bearer(accessToken)));
    await expect(fresh.factors.removeTotp()).resolves.toMatchObject({ success: true });
  });

  it("own password and email changes keep their contract: the current password in the request is the step-up", async () => {
    const user = await t.createUser();
    await t.giveOwnHash(user);
    const old = await agedAccessToken(t, user);
    const res = await t.app.inject({
      method: "PUT",
      url: "/api/users/password",
      headers: bearer(old),
      payload: { currentPassword: PASSWORD, newPassword: "amber-delta-canyon-4-violin-sky" },
    });
    expect(res.statusCode).toBe(200);
  });
});
