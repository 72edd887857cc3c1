/**
 * OWASP API Security Top 10 (2023) — API8:2023 Security Misconfiguration.
 * OWASP ASVS 5.0: V16.5.1 (generic error message to the consumer, no stack/SQL/driver text),
 * V16.2.x (errors correlated with a request id), V3.4.x (security headers: CSP, nosniff,
 * frame-ancestors; no `X-Powered-By`), V14.3.2/V8.x (`Cache-Control: no-store` on authenticated
 * answers), V4.1.x/V13.x (only the documented HTTP methods; 405 with `Allow`), V3.4.2 / V4.x CORS
 * (`Access-Control-Allow-Origin` only for allow-listed origins, never `*` with credentials).
 *
 * Own app with CORS_ORIGINS set; the database error is forced by renaming a table of this
 * file's own database (and renaming it back).
 */
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ZApiErrorBody } from "../../server/errors/api-errors.ts";
import { createTestApp, type TestApp } from "../helpers/test-app.ts";

const ALLOWED = "https://app.example.com";

let t: TestApp;
let admin: Awaited<ReturnType<TestApp["userWithToken"]>>;
beforeAll(async () => {
  t = await createTestApp({ CORS_ORIGINS: ALLOWED });
  admin = await t.userWithToken({ role: "AppAdmin" });
});
afterAll(() => t.close());

const LEAKS =
  /select |insert |update |from "|relation|does not exist|audit_log|kysely|pglite|postgres|pg-protocol|node_modules|\.ts:\d+|at \w+ \(|Error:|stack|SQLSTATE|42P01/i;

describe("API8 a database error is a generic 500", () => {
  it("500 {code: INTERNAL_ERROR, message, requestId} with no SQL, stack or driver text; x-request-id equals requestId", async () => {
    await sql`alter table audit_log rename to audit_log_hidden`.execute(t.db);
    try {
      const res = await t.app.inject({ method: "GET", url: "/api/audit", headers: admin.auth });
      expect(res.statusCode, res.body).toBe(500);
      const body = ZApiErrorBody.strict().parse(res.json());
      expect(Object.keys(body).sort()).toEqual(["code", "message", "requestId"]);
      expect(body).toEqual({
        code: "INTERNAL_ERROR",
        message: "Internal server error",
        requestId: expect.any(String),
      });
      expect(res.headers["x-request-id"]).toBe(body.requestId);
      expect(res.body).not.toMatch(LEAKS);
      expect(res.headers["content-type"]).toMatch(/^application\/json/);

      // The tRPC door says as little.
      const trpc = await t.app.inject({
        method: "GET",
        url: `/trpc/audit.list?input=${encodeURIComponent("{}")}`,
        headers: admin.auth,
      });
      expect(trpc.statusCode).toBe(500);
      expect(trpc.body).not.toMatch(LEAKS);
      expect(trpc.json().error.message).toBe("Internal server error");

      // A caller's own (sane) request id is echoed back in both places.
      const traced = await t.app.inject({
        method: "GET",
        url: "/api/audit",
        headers: { ...admin.auth, "x-request-id": "trace-123.abc" },
      });
      expect(traced.headers["x-request-id"]).toBe("trace-123.abc");
      expect(traced.json().requestId).toBe("trace-123.abc");
      // An insane one is replaced, not reflected.
      const injected = await t.app.inject({
        method: "GET",
        url: "/api/audit",
        headers: { ...admin.auth, "x-request-id": "<script>alert(1)</script>" },
      });
      expect(injected.headers["x-request-id"]).not.toContain("<");
      expect(injected.body).not.toContain("<script>");
    } finally {
      await sql`alter table audit_log_hidden rename to audit_log`.execute(t.db);
    }
    expect(
      (await t.app.inject({ method: "GET", url: "/api/audit", headers: admin.auth })).statusCode,
    ).toBe(200);
  });

  it("malformed JSON is a 400 in the API's shape without parser internals", async () => {
    const res = await t.app.inject({
      method: "POST",
      url: "/api/auth/token",
      headers: { "content-type": "application/json" },
      payload: '{"email": "a@b.co", "password": ',
    });
    expect(res.statusCode).toBe(400);
    expect(ZApiErrorBody.strict().parse(res.json()).code).toBe("VALIDATION_ERROR");
    expect(res.body).not.toMatch(/node_modules|at \w+ \(|\.js:\d+/);
  });

  it("a prototype-poisoning body is refused with 400", async () => {
    for (const payload of [
      '{"firstName":"A","__proto__":{"role":"AppAdmin"}}',
      '{"firstName":"A","constructor":{"prototype":{"role":"AppAdmin"}}}',
    ]) {
      const res = await t.app.inject({
        method: "PATCH",
        url: "/api/users/me",
        headers: { ...admin.auth, "content-type": "application/json" },
        payload,
      });
      expect(res.statusCode, res.body).toBe(400);
      expect(ZApiErrorBody.strict().parse(res.json()).code).toBe("VALIDATION_ERROR");
    }
  });
});

describe("API8 headers", () => {
  it("an authenticated API answer: no x-powered-by, no-store, nosniff, a CSP, frame protection", async () => {
    for (const res of [
      await t.app.inject({ method: "GET", url: "/api/users/me", headers: admin.auth }),
      await t.app.inject({ method: "GET", url: "/api/users", headers: admin.auth }),
      await t.app.inject({ method: "GET", url: "/trpc/users.me", headers: admin.auth }),
    ]) {
      expect(res.statusCode).toBe(200);
      expect(res.headers["x-powered-by"]).toBeUndefined();
      expect(res.headers.server).toBeUndefined();
      expect(res.headers["cache-control"]).toMatch(/no-store/);
      expect(res.headers["x-content-type-options"]).toBe("nosniff");
      const csp = String(res.headers["content-security-policy"]);
      expect(csp).toMatch(/default-src 'none'/);
      expect(csp).toMatch(/frame-ancestors 'none'/);
      expect(res.headers["content-type"]).toMatch(/^application\/json; charset=utf-8/);
      expect(res.headers["strict-transport-security"]).toBeDefined();
    }
  });

  it("error answers carry the same headers", async () => {
    const res = await t.app.inject({ method: "GET", url: "/api/users/me" });
    expect(res.statusCode).toBe(401);
    expect(res.headers["cache-control"]).toMatch(/no-store/);
    expect(res.headers["x-content-type-options"]).toBe("nosniff");
    expect(res.headers["content-security-policy"]).toBeDefined();
    expect(res.headers["x-powered-by"]).toBeUndefined();
  });

  it("profile images are private to caches and nosniff", async () => {
    const res = await t.app.inject({
      method: "GET",
      url: `/api/users/${admin.user.id}/profile/image`,
      headers: admin.auth,
    });
    expect(res.statusCode).toBe(404);
    expect(res.headers["x-content-type-options"]).toBe("nosniff");
    expect(String(res.headers["cache-control"])).not.toMatch(/public/);
  });
});

describe("API8 methods", () => {
  for (const [method, url, allow] of [
    ["PUT", "/api/users/me", ["GET", "PATCH"]],
    ["DELETE", "/api/auth/token", ["POST"]],
    ["GET", "/api/auth/token", ["POST"]],
    ["PUT", "/api/users/signup", ["POST"]],
    ["POST", "/api/users/123/accessible-organizations", ["GET"]],
    ["PATCH", "/api/users/profile/image", ["POST", "GET", "DELETE"]],
  ] as const) {
    it(`${method} ${url} → 405 with Allow: ${allow.join(", ")}`, async () => {
      const res = await t.app.inject({ method, url, headers: admin.auth });
      expect(res.statusCode, res.body).toBe(405);
      const allowed = String(res.headers.allow)
        .split(",")
        .map((m) => m.trim())
        .filter(Boolean);
      for (const m of allow) expect(allowed).toContain(m);
      expect(allowed).not.toContain(method);
      expect(ZApiErrorBody.strict().parse(res.json()).code).toBe("METHOD_NOT_ALLOWED");
    });
  }

  it("TRACE is not served", async () => {
    const res = await t.app.inject({ method: "TRACE" as "GET", url: "/api/users/me" });
    expect([404, 405]).toContain(res.statusCode);
    expect(res.body).not.toContain("authorization");
  });

  // A path with invalid percent-encoding (a lone surrogate) fails in Fastify's router, before
  // any handler: server/app.ts's frameworkErrors answers in the API's shape.
  it("a malformed percent-encoded path is a 400 in the API's shape", async () => {
    const res = await t.app.inject({
      method: "GET",
      url: "/api/users/%ED%A0%80",
      headers: admin.auth,
    });
    expect(res.statusCode).toBe(400);
    expect(ZApiErrorBody.strict().parse(res.json()).code).toBe("VALIDATION_ERROR");
  });

  it("an unknown path is a 404 in the API's shape", async () => {
    const res = await t.app.inject({ method: "GET", url: "/api/nope", headers: admin.auth });
    expect(res.statusCode).toBe(404);
    expect(ZApiErrorBody.strict().parse(res.json()).code).toBe("NOT_FOUND");
  });
});

describe("API8 interactive docs", () => {
  const initializer = async (app: TestApp["app"]) => {
    const res = await app.inject({ method: "GET", url: "/docs/static/swagger-initializer.js" });
    expect(res.statusCode).toBe(200);
    return res.body;
  };

  it("/docs does not keep the bearer token in the browser unless DOCS_PERSIST_AUTHORIZATION=on", async () => {
    expect(await initializer(t.app)).toMatch(/"persistAuthorization":\s*false/);
    const persisting = await createTestApp({ DOCS_PERSIST_AUTHORIZATION: "on" });
    try {
      expect(await initializer(persisting.app)).toMatch(/"persistAuthorization":\s*true/);
    } finally {
      await persisting.close();
    }
  });
});

describe("API8 CORS", () => {
  const preflight = (origin: string, method = "PATCH") =>
    t.app.inject({
      method: "OPTIONS",
      url: "/api/users/me",
      headers: {
        origin,
        "access-control-request-method": method,
        "access-control-request-headers": "authorization,content-type",
      },
    });

  it("a preflight from an allowed origin gets access-control-allow-origin for that origin", async () => {
    const res = await preflight(ALLOWED);
    expect(res.statusCode).toBeLessThan(300);
    expect(res.headers["access-control-allow-origin"]).toBe(ALLOWED);
    expect(res.headers["access-control-allow-origin"]).not.toBe("*");
    expect(String(res.headers.vary)).toMatch(/origin/i);
  });

  it("a preflight from another origin gets no access-control-allow-origin", async () => {
    for (const origin of [
      "https://evil.example.com",
      "https://app.example.com.evil.net",
      "http://app.example.com",
      "null",
    ]) {
      const res = await preflight(origin);
      expect(res.headers["access-control-allow-origin"], origin).toBeUndefined();
      expect(res.headers["access-control-allow-credentials"], origin).toBeUndefined();
    }
  });

  it("a simple request from another origin gets no CORS grant; from the allowed one it does", async () => {
    const evil = await t.app.inject({
      method: "GET",
      url: "/api/users/me",
      headers: { ...admin.auth, origin: "https://evil.example.com" },
    });
    expect(evil.headers["access-control-allow-origin"]).toBeUndefined();
    const good = await t.app.inject({
      method: "GET",
      url: "/api/users/me",
      headers: { ...admin.auth, origin: ALLOWED },
    });
    expect(good.headers["access-control-allow-origin"]).toBe(ALLOWED);
  });
});
