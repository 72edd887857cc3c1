import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ZTokenPair } from "../../routers/auth/token-schema.ts";
import { createCaller } from "../../routers/router.ts";
import { createContext } from "../../server/context.ts";
import { expectError, SECRETS } from "../helpers/expect-error.ts";
import { enrolTotp, forgetUsedSteps } from "../helpers/second-factor.ts";
import { createTestApp, PASSWORD, type TestApp } from "../helpers/test-app.ts";

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

const signIn = (email: string, password = PASSWORD) =>
  t.app.inject({ method: "POST", url: "/api/auth/token", payload: { email, password } });

const secondStep = (payload: Record<string, unknown>) =>
  t.app.inject({ method: "POST", url: "/api/auth/token/second-factor", payload });

async function challengeFor(email: string): Promise<string> {
  const res = await signIn(email);
  expect(res.statusCode).toBe(200);
  return res.json().challenge;
}

const liveSessions = async (userId: number) =>
  Number(
    (
      await t.db
        .selectFrom("sessions")
        .select((eb) => eb.fn.countAll<number>().as("n"))
        .where("user_id", "=", userId)
        .where("revoked_at", "is", null)
        .executeTakeFirstOrThrow()
    ).n,
  );

/** A code that is not the app's current one (nor its neighbours'). */
const wrongCode = (app: { code: (steps?: number) => string }) => {
  const near = new Set([app.code(-1), app.code(), app.code(1)]);
  for (let n = 0; ; n++) {
    const code = String(n).padStart(6, "0");
    if (!near.has(code)) return code;
  }
};

describe("POST /api/auth/token for a user with a second factor", () => {
  it("answers a challenge and the factors instead of tokens; the second step gives the pair", async () => {
    const user = await t.createUser();
    const { app } = await enrolTotp(t, user);
    const first = await signIn(user.email);
    expect(first.statusCode).toBe(200);
    const body = first.json();
    expect(body).toEqual({
      secondFactorRequired: true,
      challenge: expect.any(String),
      factors: ["totp", "recovery_code"],
      expiresIn: 300,
    });
    expect(body.accessToken).toBeUndefined();
    // The challenge is no bearer token.
    const asBearer = await t.app.inject({
      method: "GET",
      url: "/api/users/me",
      headers: { authorization: `Bearer ${body.challenge}` },
    });
    expectError(asBearer, 401, "UNAUTHENTICATED");

    const second = await secondStep({
      challenge: body.challenge,
      factor: "totp",
      code: app.code(),
    });
    expect(second.statusCode).toBe(200);
    expect(second.body).not.toMatch(SECRETS);
    const pair = ZTokenPair.strict().parse(second.json());
    const me = await t.app.inject({
      method: "GET",
      url: "/api/users/me",
      headers: { authorization: `Bearer ${pair.accessToken}` },
    });
    expect(me.json().id).toBe(user.id);
  });

  it("users without a factor get the unchanged token pair", async () => {
    const user = await t.createUser();
    const res = await signIn(user.email);
    ZTokenPair.strict().parse(res.json());
  });

  it("a challenge is single-use, and refused once expired", async () => {
    const user = await t.createUser();
    const { app } = await enrolTotp(t, user);
    const challenge = await challengeFor(user.email);
    expect((await secondStep({ challenge, factor: "totp", code: app.code() })).statusCode).toBe(
      200,
    );
    await forgetUsedSteps(t, user.id);
    const reused = await secondStep({ challenge, factor: "totp", code: app.code() });
    expectError(reused, 401, "INVALID_CREDENTIALS");

    const late = await challengeFor(user.email);
    await t.db
      .updateTable("second_factor_challenges")
      .set({ expires_at: new Date(Date.now() - 1000) })
      .where("user_id", "=", user.id)
      .where("used_at", "is", null)
      .execute();
    await forgetUsedSteps(t, user.id);
    const expired = await secondStep({ challenge: late, factor: "totp", code: app.code() });
    expectError(expired, 401, "INVALID_CREDENTIALS");
    const unknown = await secondStep({ challenge: "x".repeat(43), factor: "totp", code: "123456" });
    expectError(unknown, 401, "INVALID_CREDENTIALS");
  });

  it("a challenge takes five wrong codes; the sixth try is refused even with the right code", async () => {
    const user = await t.createUser();
    const { app } = await enrolTotp(t, user);
    const challenge = await challengeFor(user.email);
    for (let i = 0; i < 5; i++) {
      const res = await secondStep({ challenge, factor: "totp", code: wrongCode(app) });
      expectError(res, 401, "INVALID_SECOND_FACTOR");
    }
    const right = await secondStep({ challenge, factor: "totp", code: app.code() });
    expectError(right, 401, "INVALID_CREDENTIALS");
  });

  it("bad input is a 400, never a 500: unknown factor, long code, unknown field", async () => {
    for (const payload of [
      { challenge: "c", factor: "sms", code: "123456" },
      { challenge: "c", factor: "totp", code: "1".repeat(65) },
      { challenge: "c", factor: "totp", code: "123456", extra: 1 },
      { challenge: "c".repeat(201), factor: "totp", code: "123456" },
      { factor: "totp", code: "123456" },
    ]) {
      expectError(await secondStep(payload), 400, "VALIDATION_ERROR");
    }
  });

  it("the same code raced on two challenges: exactly one sign-in, in each of 8 rounds", async () => {
    const user = await t.createUser();
    const { app } = await enrolTotp(t, user);
    for (let round = 0; round < 8; round++) {
      await forgetUsedSteps(t, user.id);
      const challenges = await Promise.all([challengeFor(user.email), challengeFor(user.email)]);
      const code = app.code();
      const answers = await Promise.all(
        challenges.map((challenge) => secondStep({ challenge, factor: "totp", code })),
      );
      const statuses = answers.map((res) => res.statusCode).sort();
      expect(statuses).toEqual([200, 401]);
    }
  });

  it("one challenge raced by four right answers (a TOTP code, three recovery codes): one session, in each of 3 rounds", async () => {
    const user = await t.createUser();
    const { app, recoveryCodes } = await enrolTotp(t, user);
    for (let round = 0; round < 3; round++) {
      await forgetUsedSteps(t, user.id);
      const challenge = await challengeFor(user.email);
      const sessionsBefore = await liveSessions(user.id);
      const proofs = [
        { factor: "totp", code: app.code() },
        ...recoveryCodes.slice(round * 3, round * 3 + 3).map((code) => ({
          factor: "recovery_code",
          code,
        })),
      ];
      const answers = await Promise.all(proofs.map((proof) => secondStep({ challenge, ...proof })));
      expect(answers.filter((res) => res.statusCode === 200)).toHaveLength(1);
      expect(await liveSessions(user.id)).toBe(sessionsBefore + 1);
    }
  });

  it("the tRPC door has the same two steps", async () => {
    const user = await t.createUser();
    const { app } = await enrolTotp(t, user);
    const anonymous = createCaller(createContext(t.deps));
    const first = await anonymous.auth.token({ email: user.email, password: PASSWORD });
    if (!("challenge" in first)) throw new Error("expected a challenge");
    expect(first.factors).toEqual(["totp", "recovery_code"]);
    await expect(
      anonymous.auth.secondFactor({
        challenge: first.challenge,
        factor: "totp",
        code: wrongCode(app),
      }),
    ).rejects.toMatchObject({ apiCode: "INVALID_SECOND_FACTOR" });
    const pair = await anonymous.auth.secondFactor({
      challenge: first.challenge,
      factor: "totp",
      code: app.code(),
    });
    const api = createCaller(
      createContext(t.deps, { authorization: `Bearer ${pair.accessToken}` }),
    );
    expect((await api.users.me()).id).toBe(user.id);
  });
});

describe("recovery codes", () => {
  it("sign in once each; a used code is refused; codes ignore case and spacing", async () => {
    const user = await t.createUser();
    const { recoveryCodes } = await enrolTotp(t, user);
    const [first, second] = recoveryCodes as [string, string];
    const ok = await secondStep({
      challenge: await challengeFor(user.email),
      factor: "recovery_code",
      code: first,
    });
    expect(ok.statusCode).toBe(200);
    const again = await secondStep({
      challenge: await challengeFor(user.email),
      factor: "recovery_code",
      code: first,
    });
    expectError(again, 401, "INVALID_SECOND_FACTOR");
    const typed = await secondStep({
      challenge: await challengeFor(user.email),
      factor: "recovery_code",
      code: ` ${second.toUpperCase().replace("-", " ")} `,
    });
    expect(typed.statusCode).toBe(200);
    const auth = { authorization: `Bearer ${typed.json().accessToken}` };
    const listed = await t.app.inject({
      method: "GET",
      url: "/api/users/me/factors",
      headers: auth,
    });
    expect(listed.json().factors[1]).toMatchObject({ kind: "recovery_code", remaining: 8 });
    expect(listed.json().factors[1].lastUsedAt).not.toBeNull();
    // Another user's code is no code of this one's.
    const other = await t.createUser();
    const otherCodes = (await enrolTotp(t, other)).recoveryCodes;
    const crossed = await secondStep({
      challenge: await challengeFor(user.email),
      factor: "recovery_code",
      code: otherCodes[0],
    });
    expectError(crossed, 401, "INVALID_SECOND_FACTOR");
  });

  it("one code raced by 5 concurrent sign-ins: exactly one succeeds, in each of 6 rounds", async () => {
    const user = await t.createUser();
    const { recoveryCodes } = await enrolTotp(t, user);
    for (let round = 0; round < 6; round++) {
      const challenges = await Promise.all(
        Array.from({ length: 5 }, () => challengeFor(user.email)),
      );
      const answers = await Promise.all(
        challenges.map((challenge) =>
          secondStep({ challenge, factor: "recovery_code", code: recoveryCodes[round] }),
        ),
      );
      expect(answers.filter((res) => res.statusCode === 200)).toHaveLength(1);
      for (const res of answers.filter((res) => res.statusCode !== 200)) {
        expectError(res, 401, "INVALID_SECOND_FACTOR");
      }
    }
  });
});

describe("wrong codes share the login lock's budget", () => {
  let locked: TestApp;
  beforeAll(async () => {
    locked = await createTestApp({
      RATE_LIMIT: "on",
      LOGIN_LOCK_AFTER_FAILURES: "3",
      LOGIN_ACCOUNT_LOCK_AFTER_FAILURES: "6",
    });
  });
  afterAll(() => locked.close());

  const signInTo = (email: string, password = PASSWORD) =>
    locked.app.inject({ method: "POST", url: "/api/auth/token", payload: { email, password } });
  const stepTo = (payload: Record<string, unknown>, ip = "127.0.0.1") =>
    locked.app.inject({
      method: "POST",
      url: "/api/auth/token/second-factor",
      payload,
      remoteAddress: ip,
    });

  it("after LOGIN_LOCK_AFTER_FAILURES wrong codes the address is locked: right code and right password refused", async () => {
    const user = await locked.createUser();
    const { app } = await enrolTotp(locked, user);
    const challenge = (await signInTo(user.email)).json().challenge;
    for (let i = 0; i < 3; i++) {
      expectError(
        await stepTo({ challenge, factor: "totp", code: wrongCode(app) }),
        401,
        "INVALID_SECOND_FACTOR",
      );
    }
    expectError(
      await stepTo({ challenge, factor: "totp", code: app.code() }),
      401,
      "INVALID_SECOND_FACTOR",
    );
    // The same lock that wrong passwords bring: the right password is refused too.
    expectError(await signInTo(user.email), 401, "INVALID_CREDENTIALS");
    // Another address still signs in (the address lock is per address).
    const elsewhere = await locked.app.inject({
      method: "POST",
      url: "/api/auth/token",
      payload: { email: user.email, password: PASSWORD },
      remoteAddress: "10.9.8.7",
    });
    expect(elsewhere.json().secondFactorRequired).toBe(true);
  }, 30_000);

  it("a right password does not wipe the address's count of wrong codes (only a whole sign-in does)", async () => {
    const user = await locked.createUser();
    const { app } = await enrolTotp(locked, user);
    const ip = "10.7.7.7";
    const challengeFrom = async () =>
      (
        await locked.app.inject({
          method: "POST",
          url: "/api/auth/token",
          payload: { email: user.email, password: PASSWORD },
          remoteAddress: ip,
        })
      ).json().challenge as string;
    const first = await challengeFrom();
    for (let i = 0; i < 2; i++) {
      await stepTo({ challenge: first, factor: "totp", code: wrongCode(app) }, ip);
    }
    // The password again, right: a new challenge, and the two wrong codes still count.
    const second = await challengeFrom();
    expect(second).toBeTruthy();
    await stepTo({ challenge: second, factor: "totp", code: wrongCode(app) }, ip);
    expectError(
      await stepTo({ challenge: second, factor: "totp", code: app.code() }, ip),
      401,
      "INVALID_SECOND_FACTOR",
    );
  }, 30_000);

  it("wrong codes from many addresses add up to the account lock", async () => {
    const user = await locked.createUser();
    const { app } = await enrolTotp(locked, user);
    const challenge = (await signInTo(user.email)).json().challenge;
    // Two per address (below the address lock of 3), from addresses 1..4: 8 > 6 for the account.
    let n = 0;
    for (let address = 1; address <= 4; address++) {
      for (let i = 0; i < 2 && n < 5; i++, n++) {
        await stepTo({ challenge, factor: "totp", code: wrongCode(app) }, `10.0.0.${address}`);
      }
    }
    const fresh = await locked.app.inject({
      method: "POST",
      url: "/api/auth/token",
      payload: { email: user.email, password: PASSWORD },
      remoteAddress: "10.0.1.1",
    });
    const next = fresh.json().challenge;
    await stepTo({ challenge: next, factor: "totp", code: wrongCode(app) }, "10.0.1.2");
    // Right passwords give their reservation back: 5 + 1 wrong codes make 6 failures, so the
    // next attempt (the 7th, from a fresh address) is past the account lock, right code or not.
    expectError(
      await stepTo({ challenge: next, factor: "totp", code: app.code() }, "10.0.1.3"),
      401,
      "INVALID_SECOND_FACTOR",
    );
  }, 60_000);
});
