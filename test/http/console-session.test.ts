import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PAGES_CSP } from "../../server/http/pages/register.ts";
import { buildTestConsole } from "../helpers/console-build.ts";
import { enrolTotp } from "../helpers/second-factor.ts";
import { createTestApp, PASSWORD, type TestApp } from "../helpers/test-app.ts";

// The admin console over HTTP: its page and assets, and the cookie door it signs in through
// (server/http/console/). The screens themselves are driven in Chromium by test/e2e/console*.

const ORIGIN = "http://console.test";
let t: TestApp;
let built: Awaited<ReturnType<typeof buildTestConsole>>;

beforeAll(async () => {
  built = await buildTestConsole();
  t = await createTestApp({ PUBLIC_URL: ORIGIN, CONSOLE_DIR: built.dir });
});
afterAll(async () => {
  await t?.close();
  await built?.remove();
});

type Headers = Record<string, string>;
const post = (path: string, body?: unknown, headers: Headers = { origin: ORIGIN }) =>
  t.app.inject({
    method: "POST",
    url: `/admin/auth/${path}`,
    headers: { ...headers, ...(body !== undefined && { "content-type": "application/json" }) },
    ...(body !== undefined && { payload: JSON.stringify(body) }),
  });

/** The console's cookie as a browser would send it back: `name=value`. */
const cookieOf = (res: { headers: Record<string, unknown> }) =>
  String(res.headers["set-cookie"]).split(";")[0] as string;

async function signIn(role: "Admin" | "AppAdmin" | "User") {
  const user = await t.createUser({ role });
  return { user, res: await post("token", { email: user.email, password: PASSWORD }) };
}

const liveSessions = (userId: number) =>
  t.db
    .selectFrom("sessions")
    .select("id")
    .where("user_id", "=", userId)
    .where("revoked_at", "is", null)
    .execute();

describe("GET /admin", () => {
  it("serves the page under the strict CSP, naming hashed assets that are cached for good", async () => {
    const res = await t.app.inject({ method: "GET", url: "/admin" });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(res.headers["content-security-policy"]).toBe(PAGES_CSP);
    expect(res.headers["cache-control"]).toBe("no-store");
    // Nothing inline: every script has a src, no style element or attribute.
    expect(res.body).not.toMatch(/<script(?![^>]*\ssrc=)/);
    expect(res.body).not.toMatch(/<style|\sstyle=/);
    const assets = [...res.body.matchAll(/\/admin\/assets\/main-[A-Z0-9]+\.(?:js|css)/g)].map(
      (match) => match[0],
    );
    expect(assets).toHaveLength(2);
    for (const asset of assets) {
      const file = await t.app.inject({ method: "GET", url: asset });
      expect(file.statusCode).toBe(200);
      expect(file.headers["cache-control"]).toBe("public, max-age=31536000, immutable");
      expect(file.body.length).toBeGreaterThan(1000);
    }
    const missing = await t.app.inject({ method: "GET", url: "/admin/assets/main-NOPE.js" });
    expect(missing.statusCode).toBe(404);
  });

  it("answers 503 with the contract's body when the console was never built", async () => {
    const unbuilt = await createTestApp({ CONSOLE_DIR: `${built.dir}/missing` });
    try {
      const res = await unbuilt.app.inject({ method: "GET", url: "/admin" });
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({ code: "SERVICE_UNAVAILABLE" });
    } finally {
      await unbuilt.close();
    }
  });
});

describe("POST /admin/auth/token", () => {
  it.each(["Admin", "AppAdmin"] as const)(
    "signs in an %s: the refresh token only in an HttpOnly, SameSite=Strict cookie scoped to /admin/auth",
    async (role) => {
      const { res } = await signIn(role);
      expect(res.statusCode).toBe(200);
      const body = res.json();
      expect(Object.keys(body).sort()).toEqual(["accessToken", "expiresIn", "tokenType"]);
      expect(res.headers["cache-control"]).toBe("no-store");
      const cookie = String(res.headers["set-cookie"]);
      expect(cookie).toMatch(/^console_refresh=[A-Za-z0-9_-]{20,};/);
      const flags = cookie.split("; ").slice(1);
      expect(flags).toEqual(
        expect.arrayContaining(["Path=/admin/auth", "HttpOnly", "SameSite=Strict"]),
      );
      expect(flags).toContain(`Max-Age=${t.config.REFRESH_TOKEN_TTL}`);
      // PUBLIC_URL is http here: a Secure cookie would never be sent back.
      expect(flags).not.toContain("Secure");
      expect(res.body).not.toContain(cookieOf(res).split("=")[1]);
      // The access token works on the native door.
      const me = await t.app.inject({
        method: "GET",
        url: "/trpc/users.me",
        headers: { authorization: `Bearer ${body.accessToken}` },
      });
      expect(me.json().result.data.role).toBe(role);
    },
  );

  it("refuses a User with a clear message, sets no cookie and leaves no session behind", async () => {
    const { user, res } = await signIn("User");
    expect(res.statusCode).toBe(403);
    expect(res.json()).toEqual({
      code: "UNAUTHORIZED",
      message: "The admin console is only for Admin and AppAdmin accounts",
    });
    expect(res.headers["set-cookie"]).toBeUndefined();
    expect(await liveSessions(user.id)).toEqual([]);
  });

  it("answers a wrong password with INVALID_CREDENTIALS and bad input with VALIDATION_ERROR", async () => {
    const user = await t.createUser({ role: "Admin" });
    const wrong = await post("token", { email: user.email, password: "not-the-password" });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().code).toBe("INVALID_CREDENTIALS");
    for (const body of [
      undefined,
      {},
      [],
      { email: user.email },
      { email: "x", password: "y".repeat(2000) },
    ]) {
      const res = await post("token", body);
      expect(res.statusCode).toBe(400);
      expect(res.json().code).toBe("VALIDATION_ERROR");
    }
  });

  it("uses a Secure cookie when PUBLIC_URL is https", async () => {
    const secure = await createTestApp({ PUBLIC_URL: "https://console.test" });
    try {
      const user = await secure.createUser({ role: "Admin" });
      const res = await secure.app.inject({
        method: "POST",
        url: "/admin/auth/token",
        headers: { origin: "https://console.test", "content-type": "application/json" },
        payload: JSON.stringify({ email: user.email, password: PASSWORD }),
      });
      expect(res.statusCode).toBe(200);
      expect(String(res.headers["set-cookie"]).split("; ")).toContain("Secure");
    } finally {
      await secure.close();
    }
  });
});

describe("two-step sign-in: POST /admin/auth/token, then /admin/auth/second-factor", () => {
  async function challengeOf(role: "Admin" | "User") {
    const user = await t.createUser({ role });
    const factor = await enrolTotp(t, user);
    const res = await post("token", { email: user.email, password: PASSWORD });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers["set-cookie"]).toBeUndefined();
    expect(res.headers["cache-control"]).toBe("no-store");
    expect(res.json()).toEqual({
      secondFactorRequired: true,
      challenge: expect.any(String),
      factors: ["totp", "recovery_code"],
      expiresIn: t.config.SECOND_FACTOR_CHALLENGE_SECONDS,
    });
    return { user, ...factor, challenge: res.json().challenge as string };
  }

  it("an Admin with TOTP: the challenge, no cookie; a right code opens the cookie session once", async () => {
    const { challenge, app } = await challengeOf("Admin");
    const wrong = await post("second-factor", { challenge, factor: "totp", code: "000000" });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().code).toBe("INVALID_SECOND_FACTOR");
    expect(wrong.headers["set-cookie"]).toBeUndefined();
    const res = await post("second-factor", { challenge, factor: "totp", code: app.code() });
    expect(res.statusCode, res.body).toBe(200);
    expect(Object.keys(res.json()).sort()).toEqual(["accessToken", "expiresIn", "tokenType"]);
    expect(String(res.headers["set-cookie"])).toMatch(/^console_refresh=[A-Za-z0-9_-]{20,};/);
    const refreshed = await post("refresh", undefined, { origin: ORIGIN, cookie: cookieOf(res) });
    expect(refreshed.statusCode).toBe(200);
    const again = await post("second-factor", { challenge, factor: "totp", code: app.code(1) });
    expect(again.statusCode).toBe(401);
    expect(again.json().code).toBe("INVALID_CREDENTIALS");
  });

  it("a recovery code does too", async () => {
    const { challenge, recoveryCodes } = await challengeOf("Admin");
    const res = await post("second-factor", {
      challenge,
      factor: "recovery_code",
      code: recoveryCodes[0],
    });
    expect(res.statusCode, res.body).toBe(200);
  });

  it("a User with TOTP passes the code and is still refused, with no session left", async () => {
    const { user, challenge, app } = await challengeOf("User");
    // The session TOTP was enrolled in stays; the console's must not.
    const before = await liveSessions(user.id);
    const res = await post("second-factor", { challenge, factor: "totp", code: app.code() });
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe("UNAUTHORIZED");
    expect(res.headers["set-cookie"]).toBeUndefined();
    expect(await liveSessions(user.id)).toEqual(before);
  });

  it("refuses another origin, an unknown challenge and bad input", async () => {
    const { challenge, app } = await challengeOf("Admin");
    const foreign = await post(
      "second-factor",
      { challenge, factor: "totp", code: app.code() },
      { origin: "http://evil.test" },
    );
    expect(foreign.statusCode).toBe(403);
    const unknown = await post("second-factor", {
      challenge: "no-such-challenge",
      factor: "totp",
      code: "123456",
    });
    expect(unknown.statusCode).toBe(401);
    expect(unknown.json().code).toBe("INVALID_CREDENTIALS");
    for (const body of [
      undefined,
      {},
      { challenge },
      { challenge, factor: "sms", code: "1" },
      { challenge, factor: "totp", code: "1".repeat(65) },
    ]) {
      const res = await post("second-factor", body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.json().code).toBe("VALIDATION_ERROR");
    }
  });
});

describe("Origin check", () => {
  const foreign: Headers[] = [
    {},
    { origin: "http://evil.test" },
    { origin: "null" },
    { origin: `${ORIGIN}:81` },
  ];

  it.each(["token", "refresh", "logout"])(
    "refuses POST /admin/auth/%s from another or no origin with 403, cookie or not",
    async (path) => {
      const { res } = await signIn("Admin");
      const cookie = cookieOf(res);
      for (const headers of foreign) {
        const refused = await post(path, {}, { ...headers, cookie });
        expect(refused.statusCode).toBe(403);
        expect(refused.json().code).toBe("UNAUTHORIZED");
        expect(refused.headers["set-cookie"]).toBeUndefined();
      }
      // The refused logout ended nothing: the cookie still refreshes.
      const still = await post("refresh", {}, { origin: ORIGIN, cookie });
      expect(still.statusCode).toBe(200);
    },
  );
});

describe("refresh and sign-out", () => {
  it("rotates the cookie on refresh; sign-out revokes the session and clears the cookie", async () => {
    const { user, res } = await signIn("AppAdmin");
    const first = cookieOf(res);
    const refreshed = await post("refresh", {}, { origin: ORIGIN, cookie: first });
    expect(refreshed.statusCode).toBe(200);
    expect(Object.keys(refreshed.json()).sort()).toEqual(["accessToken", "expiresIn", "tokenType"]);
    const second = cookieOf(refreshed);
    expect(second).not.toBe(first);

    const out = await post("logout", {}, { origin: ORIGIN, cookie: second });
    expect(out.statusCode).toBe(200);
    expect(out.json()).toEqual({ success: true });
    const cleared = String(out.headers["set-cookie"]);
    expect(cleared).toMatch(/^console_refresh=; Path=\/admin\/auth; Max-Age=0; HttpOnly/);
    expect(await liveSessions(user.id)).toEqual([]);

    const after = await post("refresh", {}, { origin: ORIGIN, cookie: second });
    expect(after.statusCode).toBe(401);
    expect(after.json().code).toBe("UNAUTHENTICATED");
    expect(String(after.headers["set-cookie"])).toContain("Max-Age=0");
  });

  it("answers 401 without a cookie, and sign-out without one still clears it", async () => {
    const none = await post("refresh", {});
    expect(none.statusCode).toBe(401);
    expect(none.json().code).toBe("UNAUTHENTICATED");
    const out = await post("logout", {});
    expect(out.statusCode).toBe(200);
    expect(String(out.headers["set-cookie"])).toContain("Max-Age=0");
  });

  it("never fails with a 500 when one cookie is refreshed by many requests at once", async () => {
    for (let round = 0; round < 8; round += 1) {
      const { res } = await signIn("Admin");
      const cookie = cookieOf(res);
      const answers = await Promise.all(
        Array.from({ length: 6 }, () => post("refresh", {}, { origin: ORIGIN, cookie })),
      );
      const statuses = answers.map((answer) => answer.statusCode);
      expect(statuses.every((status) => status === 200 || status === 401)).toBe(true);
      expect(statuses).toContain(200);
    }
  });
});
