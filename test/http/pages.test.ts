import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findEmailToken } from "../../db/email-tokens.ts";
import { hashToken } from "../../server/auth/opaque-tokens.ts";
import { PAGES, PAGES_CSP } from "../../server/http/pages/register.ts";
import { createTestApp, PASSWORD, type TestApp } from "../helpers/test-app.ts";

// The landing pages over HTTP (the browser flows are in test/e2e).

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

const get = (url: string, headers: Record<string, string> = {}) =>
  t.app.inject({ method: "GET", url, headers });

describe.each(Object.keys(PAGES))("GET %s", (path) => {
  it("is HTML with its own strict CSP, kept out of caches and search engines", async () => {
    const res = await get(`${path}?token=abc`);
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(res.headers["content-security-policy"]).toBe(PAGES_CSP);
    expect(PAGES_CSP).toContain("default-src 'none'");
    expect(PAGES_CSP).toContain("script-src 'self';");
    expect(PAGES_CSP).not.toContain("unsafe");
    expect(res.headers["cache-control"]).toBe("no-store");
    expect(res.headers["referrer-policy"]).toBe("no-referrer");
    expect(res.headers["x-robots-tag"]).toBe("noindex, nofollow");
    expect(res.headers["x-content-type-options"]).toBe("nosniff");
  });

  it("has no inline script or style, no external asset and no leftover placeholder", async () => {
    const html = (await get(path)).body;
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/i);
    expect(html).not.toMatch(/<style/i);
    expect(html).not.toMatch(/\sstyle=/i);
    expect(html).not.toMatch(/\son[a-z]+=/i);
    expect(html).not.toMatch(/(src|href|action)="(https?:)?\/\//i);
    expect(html).not.toContain("{{");
    expect(html).toMatch(/<html lang="en">/);
    expect(html).toMatch(/aria-live="polite"/);
  });

  it("links a script, a style and an icon that are served with long caching", async () => {
    const html = (await get(path)).body;
    const assets = [...html.matchAll(/(?:src|href)="(\/pages\/[^"]+)"/g)].map((m) => m[1]);
    expect(assets).toHaveLength(3);
    for (const asset of assets) {
      const res = await get(asset as string);
      expect(res.statusCode, asset).toBe(200);
      expect(res.headers["cache-control"]).toContain("immutable");
      expect(res.headers["content-type"]).toMatch(/^(text\/javascript|text\/css|image\/svg\+xml)/);
    }
  });
});

it("password pages explain the policy with the configured minimum length", async () => {
  for (const path of ["/accept-invitation", "/reset-password"]) {
    const html = (await get(path)).body;
    expect(html).toContain(`at least ${t.config.PASSWORD_MIN_LENGTH} characters`);
    expect(html).toContain("not a common or easily guessed password");
    expect(html).toContain("free of your email address and your username");
    expect(html).toMatch(/<label for="password">New password<\/label>/);
    expect(html).toContain('autocomplete="new-password"');
    // The account's email goes here once the link is checked, for password managers.
    expect(html).toMatch(/<input id="username"[^>]*type="email" autocomplete="username" hidden/);
  }
});

describe("the sign-in link that success notices offer", () => {
  const signInUrl = (html: string) => /data-sign-in-url="([^"]*)"/.exec(html)?.[1];

  it("is APP_URL by default", async () => {
    for (const path of Object.keys(PAGES)) {
      expect(signInUrl((await get(path)).body)).toBe(t.config.APP_URL);
    }
  });

  it("is SIGN_IN_URL when set, escaped for the attribute", async () => {
    const other = await createTestApp({
      APP_URL: "https://app.example.com",
      SIGN_IN_URL: "https://app.example.com/sign-in?from=mail&step=2",
    });
    try {
      const html = (await other.app.inject({ method: "GET", url: "/reset-password" })).body;
      expect(signInUrl(html)).toBe("https://app.example.com/sign-in?from=mail&amp;step=2");
    } finally {
      await other.close();
    }
  });
});

it("opening a mailed link (as a mail scanner does) never spends its token", async () => {
  const email = "scanner-check@example.com";
  const signup = await t.app.inject({
    method: "POST",
    url: "/api/users/signup",
    payload: { email, password: PASSWORD, firstName: "Scan", lastName: "Ner" },
  });
  expect(signup.statusCode).toBe(201);
  const row = await t.db
    .selectFrom("mail_outbox")
    .select("payload")
    .where("recipient", "=", email)
    .where("kind", "=", "verification")
    .executeTakeFirstOrThrow();
  const payload = (typeof row.payload === "string" ? JSON.parse(row.payload) : row.payload) as {
    link: string;
  };
  const link = new URL(payload.link);
  expect(link.pathname).toBe("/verify-email");
  const token = link.searchParams.get("token") as string;

  for (const method of ["GET", "HEAD"] as const) {
    const res = await t.app.inject({ method, url: `${link.pathname}${link.search}` });
    expect(res.statusCode).toBe(200);
  }
  expect(await findEmailToken(t.db, "verification", hashToken(token))).toMatchObject({
    used: false,
    expired: false,
  });
  const user = await t.db
    .selectFrom("users")
    .select(["status", "email_verified"])
    .where("email", "=", email)
    .executeTakeFirstOrThrow();
  expect(user).toEqual({ status: "pending", email_verified: false });
});
