/**
 * OWASP API2:2023 / API6:2023; ASVS 5.0 V6.3.1 (the current password cannot be brute-forced
 * through a signed-in session) and V6.3.8-style enumeration through the email change.
 *
 * - Every procedure that checks the current password (`PUT /users/password`,
 *   `POST /users/me/email`) spends one per-account budget (PASSWORD_LIMIT_PER_ACCOUNT, then 429),
 *   reserved before the password is verified (concurrent guesses check at most the budget), and
 *   its failures count toward the login lock of the caller's address.
 * - The email change cannot be used to test addresses: the once-a-minute turn is spent before
 *   the address is looked up, so a taken address costs what a free one costs (409 EMAIL_TAKEN
 *   stays for the first try).
 *
 * Through REST and `createCaller`; "checked" counts real argon2 verifications of the account's
 * own hash (test/helpers/verify-counter.ts).
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createCaller } from "../../routers/router.ts";
import { createContext } from "../../server/context.ts";
import { AppError } from "../../server/errors/api-errors.ts";
import { createTestAppWithCounters, type TestAppWithCounters } from "../helpers/redis-env.ts";
import { PASSWORD } from "../helpers/test-app.ts";
import { verificationsOf } from "../helpers/verify-counter.ts";

vi.mock("@node-rs/argon2", async (original) =>
  (await import("../helpers/verify-counter.ts")).countingArgon2(await original()),
);

const BUDGET = 3;
const LOCK = 5;
const NEW_PASSWORD = "copper-meadow-silent-83-falcon";

let t: TestAppWithCounters;
beforeAll(async () => {
  t = await createTestAppWithCounters({
    PASSWORD_LIMIT_PER_ACCOUNT: String(BUDGET),
    LOGIN_LOCK_AFTER_FAILURES: String(LOCK),
    HASH_MAX_QUEUE: "10000",
  });
});
afterAll(() => t?.close());

let addresses = 0;
const freshAddress = () => `10.20.${(++addresses >> 8) & 255}.${addresses & 255}`;

/** A signed-in user whose password hash is its own, so its verifications can be counted. */
async function signedIn() {
  const user = await t.createUser();
  const hash = await t.giveOwnHash(user);
  const { accessToken } = await t.login(user);
  return { user, authorization: `Bearer ${accessToken}`, checked: () => verificationsOf(hash) };
}

type Account = Awaited<ReturnType<typeof signedIn>>;
/** "ok", or the API's error code. */
type Outcome = string;
type Door = {
  changeEmail: (
    a: Account,
    newEmail: string,
    currentPassword: string,
    ip: string,
  ) => Promise<Outcome>;
  setPassword: (a: Account, currentPassword: string, ip: string) => Promise<Outcome>;
};

async function restCall(
  a: Account,
  method: "POST" | "PUT",
  url: string,
  payload: object,
  ip: string,
) {
  const res = await t.app.inject({
    method,
    url,
    payload,
    headers: { authorization: a.authorization },
    remoteAddress: ip,
  });
  return res.statusCode < 300 ? "ok" : (res.json() as { code: string }).code;
}

async function callerCall(
  a: Account,
  ip: string,
  call: (c: ReturnType<typeof createCaller>) => Promise<unknown>,
) {
  try {
    await call(createCaller(createContext(t.deps, { authorization: a.authorization, ip })));
    return "ok";
  } catch (error) {
    return error instanceof AppError ? error.apiCode : String(error);
  }
}

const doors: Array<[string, Door]> = [
  [
    "REST",
    {
      changeEmail: (a, newEmail, currentPassword, ip) =>
        restCall(a, "POST", "/api/users/me/email", { newEmail, currentPassword }, ip),
      setPassword: (a, currentPassword, ip) =>
        restCall(
          a,
          "PUT",
          "/api/users/password",
          { currentPassword, newPassword: NEW_PASSWORD },
          ip,
        ),
    },
  ],
  [
    "createCaller",
    {
      changeEmail: (a, newEmail, currentPassword, ip) =>
        callerCall(a, ip, (c) => c.users.changeEmail({ newEmail, currentPassword })),
      setPassword: (a, currentPassword, ip) =>
        callerCall(a, ip, (c) =>
          c.users.setOwnPassword({ currentPassword, newPassword: NEW_PASSWORD }),
        ),
    },
  ],
];

let emails = 0;
const freeEmail = () => `free-${Date.now().toString(36)}-${++emails}@example.com`;
const guess = (i: number) => `not-my-password-${i}-at-all`;

const login = async (email: string, password: string, ip: string) => {
  const res = await t.app.inject({
    method: "POST",
    url: "/api/auth/token",
    payload: { email, password },
    remoteAddress: ip,
  });
  return res.statusCode === 200 ? "ok" : (res.json() as { code: string }).code;
};

describe.concurrent.each(doors)("current password through %s", (_door, door) => {
  it("POST /users/me/email: beyond PASSWORD_LIMIT_PER_ACCOUNT guesses, 429 — even for the right password", async () => {
    const a = await signedIn();
    const ip = freshAddress();
    for (let i = 0; i < BUDGET; i++) {
      expect(await door.changeEmail(a, freeEmail(), guess(i), ip)).toBe("INVALID_CURRENT_PASSWORD");
    }
    expect(await door.changeEmail(a, freeEmail(), PASSWORD, ip)).toBe("RATE_LIMITED");
    expect(a.checked()).toBe(BUDGET);
  });

  it("PUT /users/password and POST /users/me/email spend one budget", async () => {
    const a = await signedIn();
    const ip = freshAddress();
    expect(await door.setPassword(a, guess(1), ip)).toBe("INVALID_CURRENT_PASSWORD");
    expect(await door.changeEmail(a, freeEmail(), guess(2), ip)).toBe("INVALID_CURRENT_PASSWORD");
    expect(await door.setPassword(a, guess(3), ip)).toBe("INVALID_CURRENT_PASSWORD");
    expect(await door.setPassword(a, PASSWORD, ip)).toBe("RATE_LIMITED");
    expect(await door.changeEmail(a, freeEmail(), PASSWORD, ip)).toBe("RATE_LIMITED");
    expect(a.checked()).toBe(BUDGET);
  });

  it("20 guesses at once check at most PASSWORD_LIMIT_PER_ACCOUNT passwords (5 rounds)", async () => {
    for (let round = 0; round < 5; round++) {
      const a = await signedIn();
      const ip = freshAddress();
      const outcomes = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          i % 2
            ? door.changeEmail(a, freeEmail(), guess(i), ip)
            : door.setPassword(a, guess(i), ip),
        ),
      );
      expect(new Set(outcomes)).toEqual(new Set(["INVALID_CURRENT_PASSWORD", "RATE_LIMITED"]));
      expect(a.checked(), `round ${round}: passwords checked`).toBeLessThanOrEqual(BUDGET);
    }
  });

  it("wrong current passwords count toward the login lock of that address", async () => {
    const a = await signedIn();
    const ip = freshAddress();
    for (let i = 0; i < BUDGET; i++) await door.changeEmail(a, freeEmail(), guess(i), ip);
    for (let i = BUDGET; i < LOCK; i++) {
      expect(await login(a.user.email, guess(i), ip)).toBe("INVALID_CREDENTIALS");
    }
    expect(await login(a.user.email, PASSWORD, ip)).toBe("INVALID_CREDENTIALS");
    expect(await login(a.user.email, PASSWORD, freshAddress())).toBe("ok");
  });

  it("POST /users/me/email is no oracle: after one 202, a taken address answers 429 like a free one", async () => {
    const a = await signedIn();
    const other = await t.createUser();
    const ip = freshAddress();
    expect(await door.changeEmail(a, freeEmail(), PASSWORD, ip)).toBe("ok");
    expect(await door.changeEmail(a, other.email, PASSWORD, ip)).toBe("RATE_LIMITED");
    expect(await door.changeEmail(a, freeEmail(), PASSWORD, ip)).toBe("RATE_LIMITED");
  });

  it("a taken address gets 409 EMAIL_TAKEN and spends the minute's turn like a free one", async () => {
    const a = await signedIn();
    const other = await t.createUser();
    const ip = freshAddress();
    expect(await door.changeEmail(a, other.email.toUpperCase(), PASSWORD, ip)).toBe("EMAIL_TAKEN");
    expect(await door.changeEmail(a, other.email, PASSWORD, ip)).toBe("RATE_LIMITED");
    expect(await door.changeEmail(a, freeEmail(), PASSWORD, ip)).toBe("RATE_LIMITED");
  });
});
