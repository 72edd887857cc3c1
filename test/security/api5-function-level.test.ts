/**
 * OWASP API Security Top 10 (2023) — API5:2023 Broken Function Level Authorization.
 * OWASP ASVS 5.0: V8.1.1 (authorization rules documented: the table below is that document, in
 * code), V8.2.1 (function-level access only for the allowed roles), V8.3.1 (enforced on the
 * service side), V8.2.2 (self-only operations stay self-only), V4.1.x/V13 (the OpenAPI document is
 * complete: every operation it lists is checked here).
 *
 * A role × operation matrix: anonymous, User, Admin and AppAdmin against every operation of the
 * OpenAPI document (and the router, which must agree with it), each with a valid request aimed at
 * a fresh throwaway target. The expected class of each cell comes from EXPECTED below; an
 * operation in the document without a row fails the suite, so a new operation forces a decision.
 * Per-role details (Admin on Admins, granting roles, role check before validation) are in
 * test/users/permissions.test.ts.
 */
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Role } from "../../db/database.ts";
import { appRouter } from "../../routers/router.ts";
import { ZApiErrorBody } from "../../server/errors/api-errors.ts";
import { buildOpenApiDocument } from "../../server/http/openapi.ts";
import { createTestApp, type TestApp } from "../helpers/test-app.ts";
import { listOperations, makeTargets, requestFor, send } from "./operations.ts";

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

/** "ok": anything but 401, 403 and 5xx; a number: exactly that status. */
type Expect = "ok" | 401 | 403 | 404;
type Cell = { anonymous: Expect; User: Expect; Admin: Expect; AppAdmin: Expect };
type Who = keyof Cell;

const PUBLIC: Cell = { anonymous: "ok", User: "ok", Admin: "ok", AppAdmin: "ok" };
const AUTHENTICATED: Cell = { anonymous: 401, User: "ok", Admin: "ok", AppAdmin: "ok" };
const ADMINS: Cell = { anonymous: 401, User: 403, Admin: "ok", AppAdmin: "ok" };
const APP_ADMIN: Cell = { anonymous: 401, User: 403, Admin: 403, AppAdmin: "ok" };
/** Authenticated, but a plain User in no organization cannot see the (other) target: 404. */
const VISIBLE: Cell = { anonymous: 401, User: 404, Admin: "ok", AppAdmin: "ok" };

/**
 * The authorization table. Targets are other users (plain Users) unless the path is `/users/me…`,
 * where the caller acts on themselves (their own second session for `DELETE …/sessions/{id}`).
 */
const EXPECTED: Record<string, Cell> = {
  "POST /auth/token": PUBLIC,
  "POST /auth/refresh": PUBLIC,
  "POST /auth/logout": PUBLIC,
  "POST /auth/logout-all": AUTHENTICATED,
  "POST /auth/token/second-factor": PUBLIC,
  "POST /auth/step-up": AUTHENTICATED,
  "POST /auth/token/second-factor/passkey-options": PUBLIC,
  "POST /auth/step-up/passkey-options": AUTHENTICATED,
  "GET /users/me/factors": AUTHENTICATED,
  "POST /users/me/factors/totp": AUTHENTICATED,
  "POST /users/me/factors/totp/confirm": AUTHENTICATED,
  "DELETE /users/me/factors/totp": AUTHENTICATED,
  "POST /users/me/factors/recovery-codes": AUTHENTICATED,
  "GET /users/{id}/factors": ADMINS,
  "DELETE /users/{id}/factors": ADMINS,
  "POST /auth/password-reset": PUBLIC,
  "POST /auth/password-reset/confirm": PUBLIC,
  "POST /auth/link-state": PUBLIC,
  "POST /users/signup": PUBLIC,
  "GET /users": AUTHENTICATED,
  "POST /users": ADMINS,
  "GET /users/me": AUTHENTICATED,
  "PATCH /users/me": AUTHENTICATED,
  "GET /users/{id}": VISIBLE,
  "PATCH /users/{id}": ADMINS,
  "DELETE /users/{id}": ADMINS,
  "POST /users/{id}/restore": ADMINS,
  "PUT /users/password": AUTHENTICATED,
  "PUT /users/{id}/password": ADMINS,
  "POST /users/{id}/verification": ADMINS, // self or admin; the target here is another user
  "POST /users/{id}/invitation": ADMINS,
  "GET /users/{id}/accessible-organizations": ADMINS, // self or admin; another user here
  "GET /users/me/sessions": AUTHENTICATED,
  "DELETE /users/me/sessions/{id}": AUTHENTICATED,
  "POST /users/verification/confirm": PUBLIC,
  "POST /users/invitation/accept": PUBLIC,
  "POST /users/me/email": AUTHENTICATED,
  "GET /users/{id}/mail": APP_ADMIN,
  "POST /organizations": APP_ADMIN,
  "GET /organizations": APP_ADMIN,
  "GET /organizations/{id}": APP_ADMIN,
  "PATCH /organizations/{id}": APP_ADMIN,
  "DELETE /organizations/{id}": APP_ADMIN,
  "PUT /organizations/{id}/members/{userId}": APP_ADMIN,
  "DELETE /organizations/{id}/members/{userId}": APP_ADMIN,
  "GET /organizations/{id}/members": APP_ADMIN,
  "GET /audit": APP_ADMIN,
  "GET /events": APP_ADMIN,
  "POST /webhooks": APP_ADMIN,
  "GET /webhooks": APP_ADMIN,
  "GET /webhooks/{id}": APP_ADMIN,
  "PATCH /webhooks/{id}": APP_ADMIN,
  "DELETE /webhooks/{id}": APP_ADMIN,
  "POST /webhooks/{id}/secret": APP_ADMIN,
  "GET /webhooks/{id}/deliveries": APP_ADMIN,
  "POST /webhooks/{id}/deliveries/{deliveryId}/redeliver": APP_ADMIN,
  "POST /users/profile/image": AUTHENTICATED,
  "GET /users/profile/image": AUTHENTICATED,
  "DELETE /users/profile/image": AUTHENTICATED,
  "GET /users/{id}/profile/image": VISIBLE,
  "POST /users/me/passkeys/registration-options": AUTHENTICATED,
  "POST /users/me/passkeys": AUTHENTICATED,
  "GET /users/me/passkeys": AUTHENTICATED,
  "PATCH /users/me/passkeys/{id}": AUTHENTICATED, // another user's passkey here: 404
  "DELETE /users/me/passkeys/{id}": AUTHENTICATED,
  "GET /users/{id}/passkeys": ADMINS,
  "POST /auth/passkey/options": PUBLIC,
  "POST /auth/passkey/token": PUBLIC,
  "POST /users/import": APP_ADMIN,
  "GET /users/import/{jobId}": APP_ADMIN,
  "GET /users/export": APP_ADMIN,
  "GET /users/me/export": AUTHENTICATED,
  "DELETE /users/me": AUTHENTICATED,
};

const document = buildOpenApiDocument(appRouter, "http://localhost", "0.0.0");
const documented: string[] = Object.entries(document.paths ?? {}).flatMap(([path, item]) =>
  Object.keys(item as object)
    .filter((method) => ["get", "post", "put", "patch", "delete"].includes(method))
    .map((method) => `${method.toUpperCase()} ${path}`),
);
const operations = listOperations();
const WHO: Who[] = ["anonymous", "User", "Admin", "AppAdmin"];

describe("API5 the authorization table", () => {
  it("has a row for every operation in the OpenAPI document, and none that is not there", () => {
    const missing = documented.filter((key) => !(key in EXPECTED));
    expect(missing, "operations without an authorization decision").toEqual([]);
    const stale = Object.keys(EXPECTED).filter((key) => !documented.includes(key));
    expect(stale, "rows for operations that no longer exist").toEqual([]);
  });

  it("the router and the document list the same operations", () => {
    expect(operations.map((op) => op.key).sort()).toEqual([...documented].sort());
  });

  it("public operations are exactly those the document leaves unsecured", () => {
    for (const operation of operations) {
      const row = EXPECTED[operation.key];
      expect(row?.anonymous === "ok", operation.key).toBe(!operation.protect);
    }
  });

  it("GET /api/openapi.json serves the same operations", async () => {
    const res = await t.app.inject({ method: "GET", url: "/api/openapi.json" });
    expect(res.statusCode).toBe(200);
    const served = Object.entries(res.json().paths as Record<string, object>).flatMap(
      ([path, item]) => Object.keys(item).map((m) => `${m.toUpperCase()} ${path}`),
    );
    expect(served.sort()).toEqual([...documented].sort());
  });
});

describe("API5 role × operation matrix", () => {
  for (const operation of operations) {
    const row = EXPECTED[operation.key];
    for (const who of WHO) {
      const expected = row?.[who];
      it(`${who.padEnd(9)} ${operation.key} → ${expected ?? "(no row)"}`, async () => {
        if (!row || expected === undefined) throw new Error(`No row for ${operation.key}`);
        // A fresh caller and a fresh target per cell: destructive cells harm nothing else.
        const caller =
          who === "anonymous" ? undefined : await t.userWithToken({ role: who as Role });
        const targets = await makeTargets(t, { emailVerified: false });
        if (operation.key === "DELETE /users/me/sessions/{id}" && caller) {
          const second = await t.login(caller.user);
          targets.sessionId = Number(decodeJwt(second.accessToken).sid);
        }
        const res = await send(t, await requestFor(operation, targets), caller?.accessToken);
        const where = `${who} ${operation.key} → ${res.statusCode} ${res.body.slice(0, 200)}`;
        expect(res.statusCode, where).toBeLessThan(500);
        if (expected === "ok") {
          expect([401, 403], where).not.toContain(res.statusCode);
          return;
        }
        expect(res.statusCode, where).toBe(expected);
        const body = ZApiErrorBody.strict().parse(res.json());
        const code = { 401: "UNAUTHENTICATED", 403: "UNAUTHORIZED", 404: "USER_NOT_FOUND" }[
          expected
        ];
        expect(body.code, where).toBe(code);
        if (expected === 401) expect(res.headers["www-authenticate"]).toBe("Bearer");
      });
    }
  }
});
