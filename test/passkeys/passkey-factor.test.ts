import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCaller } from "../../routers/router.ts";
import { createContext } from "../../server/context.ts";
import { expectError, SECRETS } from "../helpers/expect-error.ts";
import { registerSoftPasskey } from "../helpers/passkey.ts";
import { agedAccessToken, enrolTotp } from "../helpers/second-factor.ts";
import { createTestApp, PASSWORD, type TestApp } from "../helpers/test-app.ts";

// Issue 21: a passkey as the second factor of the two-step sign-in, in step-up, in the admin
// view and reset, and step-up before removing one.

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

const bearer = (accessToken: string) => ({ authorization: `Bearer ${accessToken}` });
const post = (url: string, payload: unknown, headers: Record<string, string> = {}) =>
  t.app.inject({ method: "POST", url, payload: payload as object, headers });

/** A user with a passkey, and their password sign-in's challenge. */
async function passkeyUser() {
  const { user, auth } = await t.userWithToken();
  const { device, passkeyId } = await registerSoftPasskey(t, auth);
  return { user, auth, device, passkeyId };
}

async function firstStep(email: string) {
  const res = await post("/api/auth/token", { email, password: PASSWORD });
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as { challenge: string; factors: string[] };
}

const passkeyOptions = (challenge: string) =>
  post("/api/auth/token/second-factor/passkey-options", { challenge });
const secondStep = (payload: Record<string, unknown>) =>
  post("/api/auth/token/second-factor", payload);

describe("password + passkey sign-in (REST)", () => {
  it("asks for the passkey, offers only the user's passkeys, and signs in once", async () => {
    const { user, device } = await passkeyUser();
    const first = await firstStep(user.email);
    expect(first).toMatchObject({ secondFactorRequired: true, factors: ["passkey"] });
    const options = await passkeyOptions(first.challenge);
    expect(options.statusCode, options.body).toBe(200);
    const offered = options.json();
    expect(offered.allowCredentials).toHaveLength(1);
    expect(offered.userVerification).toBe("preferred");
    const webauthn = device.get(offered);
    const res = await secondStep({ challenge: first.challenge, factor: "passkey", webauthn });
    expect(res.statusCode, res.body).toBe(200);
    expect(Object.keys(res.json()).sort()).toEqual([
      "accessToken",
      "expiresIn",
      "refreshToken",
      "tokenType",
    ]);
    const me = await t.app.inject({
      method: "GET",
      url: "/api/users/me",
      headers: bearer(res.json().accessToken),
    });
    expect(me.statusCode).toBe(200);
    // The challenge is spent, and so is the assertion's own challenge.
    expectError(
      await secondStep({ challenge: first.challenge, factor: "passkey", webauthn }),
      401,
      "INVALID_CREDENTIALS",
    );
    const again = await firstStep(user.email);
    expectError(
      await secondStep({ challenge: again.challenge, factor: "passkey", webauthn }),
      401,
      "INVALID_SECOND_FACTOR",
    );
  });

  it("refuses another user's passkey and a sign-in-alone challenge", async () => {
    const alice = await passkeyUser();
    const bob = await passkeyUser();
    const first = await firstStep(alice.user.email);
    const offered = (await passkeyOptions(first.challenge)).json();
    expectError(
      await secondStep({
        challenge: first.challenge,
        factor: "passkey",
        webauthn: bob.device.get(offered),
      }),
      401,
      "INVALID_SECOND_FACTOR",
    );
    const alone = (await post("/api/auth/passkey/options", {})).json();
    expectError(
      await secondStep({
        challenge: first.challenge,
        factor: "passkey",
        webauthn: alice.device.get(alone),
      }),
      401,
      "INVALID_SECOND_FACTOR",
    );
  });

  it("passkey options need a live challenge of a user with a passkey", async () => {
    expectError(await passkeyOptions("no-such-challenge"), 401, "INVALID_CREDENTIALS");
    const user = await t.createUser();
    await enrolTotp(t, user);
    const totpOnly = await firstStep(user.email);
    expect(totpOnly.factors).toEqual(["totp", "recovery_code"]);
    expectError(await passkeyOptions(totpOnly.challenge), 401, "INVALID_CREDENTIALS");
    const { user: expiring } = await passkeyUser();
    const first = await firstStep(expiring.email);
    await t.db
      .updateTable("second_factor_challenges")
      .set({ expires_at: new Date(Date.now() - 1000) })
      .where("user_id", "=", expiring.id)
      .execute();
    expectError(await passkeyOptions(first.challenge), 401, "INVALID_CREDENTIALS");
  });

  it("bad input is a 400: passkey with a code, a code kind with an assertion, nothing", async () => {
    const { user, device } = await passkeyUser();
    const first = await firstStep(user.email);
    const webauthn = device.get((await passkeyOptions(first.challenge)).json());
    for (const payload of [
      { challenge: first.challenge, factor: "passkey" },
      { challenge: first.challenge, factor: "passkey", code: "123456" },
      { challenge: first.challenge, factor: "passkey", webauthn, code: "123456" },
      { challenge: first.challenge, factor: "totp", webauthn },
      { challenge: first.challenge, factor: "passkey", webauthn: { id: "x" } },
    ]) {
      expectError(await secondStep(payload), 400, "VALIDATION_ERROR");
    }
    expectError(await passkeyOptions(""), 400, "VALIDATION_ERROR");
    expectError(await passkeyOptions("x".repeat(201)), 400, "VALIDATION_ERROR");
  });

  it("one assertion sent many times at once signs in once", async () => {
    for (let round = 0; round < 5; round += 1) {
      const { user, device } = await passkeyUser();
      const first = await firstStep(user.email);
      const webauthn = device.get((await passkeyOptions(first.challenge)).json());
      const answers = await Promise.all(
        Array.from({ length: 4 }, () =>
          secondStep({ challenge: first.challenge, factor: "passkey", webauthn }),
        ),
      );
      expect(answers.filter((res) => res.statusCode === 200)).toHaveLength(1);
      for (const res of answers.filter((res) => res.statusCode !== 200)) {
        expect(res.statusCode).toBe(401);
      }
    }
  });
});

describe("user verification", () => {
  it("a passkey that does not verify its user is a second factor, but no sign-in alone", async () => {
    const { user, device } = await passkeyUser();
    device.setUserVerification(false);
    const alone = (await post("/api/auth/passkey/options", {})).json();
    expect(alone.userVerification).toBe("required");
    expectError(
      await post("/api/auth/passkey/token", { webauthn: device.get(alone) }),
      401,
      "INVALID_CREDENTIALS",
    );
    const first = await firstStep(user.email);
    const webauthn = device.get((await passkeyOptions(first.challenge)).json());
    const res = await secondStep({ challenge: first.challenge, factor: "passkey", webauthn });
    expect(res.statusCode, res.body).toBe(200);
  });
});

describe("the tRPC door", () => {
  it("auth.token, auth.secondFactorPasskeyOptions, auth.secondFactor", async () => {
    const { user, device } = await passkeyUser();
    const api = createCaller(createContext(t.deps));
    const first = await api.auth.token({ email: user.email, password: PASSWORD });
    if (!("challenge" in first)) throw new Error("expected a challenge");
    const options = await api.auth.secondFactorPasskeyOptions({ challenge: first.challenge });
    const pair = await api.auth.secondFactor({
      challenge: first.challenge,
      factor: "passkey",
      webauthn: device.get(options as never),
    });
    expect(pair.refreshToken).toEqual(expect.any(String));
  });
});

describe("step-up with a passkey, and before removing one", () => {
  it("an old sign-in cannot remove a passkey; a passkey step-up can", async () => {
    const { user, device, passkeyId } = await passkeyUser();
    const old = await agedAccessToken(t, user);
    const remove = (accessToken: string) =>
      t.app.inject({
        method: "DELETE",
        url: `/api/users/me/passkeys/${passkeyId}`,
        headers: bearer(accessToken),
      });
    expectError(await remove(old), 403, "STEP_UP_REQUIRED");
    // The password no longer steps up a user with a second factor.
    expectError(
      await post("/api/auth/step-up", { password: PASSWORD }, bearer(old)),
      403,
      "STEP_UP_REQUIRED",
    );
    const options = await post("/api/auth/step-up/passkey-options", {}, bearer(old));
    expect(options.statusCode, options.body).toBe(200);
    const webauthn = device.get(options.json());
    const stepped = await post("/api/auth/step-up", { factor: "passkey", webauthn }, bearer(old));
    expect(stepped.statusCode, stepped.body).toBe(200);
    expectError(
      await post("/api/auth/step-up", { factor: "passkey", webauthn }, bearer(old)),
      401,
      "INVALID_SECOND_FACTOR",
    );
    const fresh = stepped.json().accessToken;
    expect((await remove(fresh)).statusCode).toBe(200);
    expectError(await remove(fresh), 404, "NOT_FOUND");
  });

  it("removing the last passkey drops the recovery codes; another passkey keeps them", async () => {
    const { user, auth, passkeyId } = await passkeyUser();
    const second = await registerSoftPasskey(t, auth);
    const codes = await post("/api/users/me/factors/recovery-codes", {}, auth);
    expect(codes.statusCode, codes.body).toBe(200);
    const kinds = async () => {
      const res = await t.app.inject({
        method: "GET",
        url: "/api/users/me/factors",
        headers: auth,
      });
      return res.json().factors.map((factor: { kind: string }) => factor.kind);
    };
    expect(await kinds()).toEqual(["passkey", "passkey", "recovery_code"]);
    const remove = (id: number) =>
      t.app.inject({ method: "DELETE", url: `/api/users/me/passkeys/${id}`, headers: auth });
    expect((await remove(passkeyId)).statusCode).toBe(200);
    expect(await kinds()).toEqual(["passkey", "recovery_code"]);
    expect((await remove(second.passkeyId)).statusCode).toBe(200);
    expect(await kinds()).toEqual([]);
    // No factor left: the password alone signs in again.
    const res = await post("/api/auth/token", { email: user.email, password: PASSWORD });
    expect(res.json().refreshToken).toEqual(expect.any(String));
  });

  it("the tRPC door: step-up with a passkey", async () => {
    const { user, device } = await passkeyUser();
    const api = createCaller(createContext(t.deps, bearer(await agedAccessToken(t, user))));
    const options = await api.auth.stepUpPasskeyOptions();
    const { accessToken } = await api.auth.stepUp({
      factor: "passkey",
      webauthn: device.get(options as never),
    });
    expect(accessToken).toEqual(expect.any(String));
  });
});

describe("admins and passkeys", () => {
  it("an admin sees a user's passkeys as factors (never a key) and a reset removes them", async () => {
    const admin = await t.userWithToken({ role: "Admin" });
    const { user, device } = await passkeyUser();
    const view = await t.app.inject({
      method: "GET",
      url: `/api/users/${user.id}/factors`,
      headers: admin.auth,
    });
    expect(view.statusCode).toBe(200);
    expect(view.json()).toEqual({
      factors: [
        { kind: "passkey", name: "Test key", createdAt: expect.any(String), lastUsedAt: null },
      ],
    });
    expect(view.body).not.toMatch(/public_key|credential/);
    expect(view.body).not.toMatch(SECRETS);
    const reset = await t.app.inject({
      method: "DELETE",
      url: `/api/users/${user.id}/factors`,
      headers: admin.auth,
    });
    expect(reset.statusCode, reset.body).toBe(200);
    const { passkeys } = await t.db
      .selectFrom("passkeys")
      .select(t.db.fn.countAll<number>().as("passkeys"))
      .where("user_id", "=", user.id)
      .executeTakeFirstOrThrow();
    expect(Number(passkeys)).toBe(0);
    // The password alone signs in again; the old passkey no longer does.
    const res = await post("/api/auth/token", { email: user.email, password: PASSWORD });
    expect(res.json().refreshToken).toEqual(expect.any(String));
    const alone = (await post("/api/auth/passkey/options", {})).json();
    expectError(
      await post("/api/auth/passkey/token", { webauthn: device.get(alone) }),
      401,
      "INVALID_CREDENTIALS",
    );
  });

  it("a passkey satisfies REQUIRE_SECOND_FACTOR_FOR_ADMINS, alone or after the password", async () => {
    const strict = await createTestApp({ REQUIRE_SECOND_FACTOR_FOR_ADMINS: "on" });
    try {
      const admin = await strict.createUser({ role: "Admin" });
      const enrolOnly = await strict.app.inject({
        method: "POST",
        url: "/api/auth/token",
        payload: { email: admin.email, password: PASSWORD },
      });
      expect(enrolOnly.json().secondFactorEnrolmentRequired).toBe(true);
      const { device } = await registerSoftPasskey(
        strict,
        bearer(enrolOnly.json().accessToken as string),
      );
      const first = await strict.app.inject({
        method: "POST",
        url: "/api/auth/token",
        payload: { email: admin.email, password: PASSWORD },
      });
      expect(first.json()).toMatchObject({ secondFactorRequired: true, factors: ["passkey"] });
      const alone = await strict.app.inject({
        method: "POST",
        url: "/api/auth/passkey/options",
        payload: {},
      });
      const signedIn = await strict.app.inject({
        method: "POST",
        url: "/api/auth/passkey/token",
        payload: { webauthn: device.get(alone.json()) },
      });
      expect(signedIn.statusCode, signedIn.body).toBe(200);
      const users = await strict.app.inject({
        method: "GET",
        url: "/api/users",
        headers: bearer(signedIn.json().accessToken),
      });
      expect(users.statusCode, users.body).toBe(200);
    } finally {
      await strict.close();
    }
  });
});
