import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ZApiErrorBody } from "../../server/errors/api-errors.ts";
import { expectError } from "../helpers/expect-error.ts";
import { createTestApp, PASSWORD, type TestApp } from "../helpers/test-app.ts";

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

/** The stored users with these emails: a refused request stores none. */
const usersWith = (...emails: string[]) =>
  t.db.selectFrom("users").select("id").where("email", "in", emails).execute();

const LEAKS =
  /\$argon2|password_hash|passwordHash|token_version|memberships|relation|select |SQL|stack|\bat .*:\d+:\d+|node_modules|\.ts:\d+/i;

const signupBody = (email: string) => ({
  email,
  password: PASSWORD,
  firstName: "E",
  lastName: "R",
});

describe("routing errors", () => {
  it("answers an unknown route with 404 NOT_FOUND in the API's shape", async () => {
    for (const [method, url] of [
      ["GET", "/api/nothing-here"],
      ["GET", "/nothing"],
      ["POST", "/api/users/1/unknown"],
      ["GET", "/api/users/1/2/3"],
    ] as const) {
      const res = await t.app.inject({ method, url });
      expectError(res, 404, "NOT_FOUND");
    }
  });

  it("answers a known path with the wrong method with 405 METHOD_NOT_ALLOWED and Allow", async () => {
    const { auth } = await t.userWithToken();
    const res = await t.app.inject({
      method: "PUT",
      url: "/api/users/me",
      headers: auth,
      payload: {},
    });
    expectError(res, 405, "METHOD_NOT_ALLOWED");
    const allow = String(res.headers.allow).split(/,\s*/);
    expect(allow).toEqual(expect.arrayContaining(["GET", "PATCH"]));
    expect(allow).not.toContain("PUT");
    const token = await t.app.inject({ method: "GET", url: "/api/auth/token" });
    expectError(token, 405, "METHOD_NOT_ALLOWED");
    expect(token.headers.allow).toBe("POST");
  });

  // BUG (server/http/rest.ts:43 + server/app.ts not-found handler): the 405 patterns accept a
  // trailing slash that Fastify's router does not, so GET /api/users/me/ is answered
  // "405 GET is not allowed here" with an Allow header that lists GET. It should be a 404
  // NOT_FOUND (or be served like /api/users/me); a 405 must never list the request's method.
  it("never answers 405 for a method its own Allow header lists (trailing slash)", async () => {
    const { auth } = await t.userWithToken();
    for (const url of ["/api/users/me/", "/api/users/"]) {
      const res = await t.app.inject({ method: "GET", url, headers: auth });
      if (res.statusCode === 405) {
        expect(String(res.headers.allow).split(/,\s*/), url).not.toContain("GET");
      }
      expect([200, 404], url).toContain(res.statusCode);
    }
  });

  it("answers an unknown tRPC procedure with error.data.code NOT_FOUND", async () => {
    const res = await t.app.inject({ method: "GET", url: "/trpc/users.nope" });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.data.code).toBe("NOT_FOUND");
  });
});

describe("request body errors", () => {
  it("answers a body over 64 KiB with 413 PAYLOAD_TOO_LARGE", async () => {
    const res = await t.app.inject({
      method: "POST",
      url: "/api/users/signup",
      headers: { "content-type": "application/json" },
      payload: JSON.stringify({ ...signupBody("big@example.com"), firstName: "x".repeat(70_000) }),
    });
    expectError(res, 413, "PAYLOAD_TOO_LARGE");
    expect(await usersWith("big@example.com")).toHaveLength(0);
  });

  it("answers a non-JSON content type with 415 or 400 in the API's shape", async () => {
    for (const [contentType, payload] of [
      ["application/xml", "<user><email>a@b.c</email></user>"],
      ["text/plain", JSON.stringify(signupBody("plain@example.com"))],
      ["application/x-www-form-urlencoded", "email=form%40example.com&password=x"],
    ] as const) {
      const res = await t.app.inject({
        method: "POST",
        url: "/api/users/signup",
        headers: { "content-type": contentType },
        payload,
      });
      expect([400, 415], contentType).toContain(res.statusCode);
      const body = ZApiErrorBody.strict().parse(res.json());
      expect(body.code).toBe(
        res.statusCode === 415 ? "UNSUPPORTED_MEDIA_TYPE" : "VALIDATION_ERROR",
      );
    }
    expect(await usersWith("plain@example.com", "form@example.com")).toHaveLength(0);
  });

  it("answers a JSON array, a string or null body with 400 VALIDATION_ERROR", async () => {
    for (const payload of [
      JSON.stringify([signupBody("array@example.com")]),
      JSON.stringify("text"),
      "null",
      "42",
    ]) {
      const res = await t.app.inject({
        method: "POST",
        url: "/api/users/signup",
        headers: { "content-type": "application/json" },
        payload,
      });
      expectError(res, 400, "VALIDATION_ERROR");
    }
  });

  it("answers a __proto__ or constructor.prototype key with 400, never polluting objects", async () => {
    for (const payload of [
      `{"email":"proto@example.com","password":"${PASSWORD}","firstName":"P","lastName":"R","__proto__":{"role":"AppAdmin"}}`,
      `{"email":"proto@example.com","password":"${PASSWORD}","firstName":"P","lastName":"R","constructor":{"prototype":{"role":"AppAdmin"}}}`,
      `{"email":"proto@example.com","password":"${PASSWORD}","firstName":{"__proto__":{"x":1}},"lastName":"R"}`,
    ]) {
      const res = await t.app.inject({
        method: "POST",
        url: "/api/users/signup",
        headers: { "content-type": "application/json" },
        payload,
      });
      expectError(res, 400, "VALIDATION_ERROR");
    }
    expect(({} as Record<string, unknown>).role).toBeUndefined();
    expect(await usersWith("proto@example.com")).toHaveLength(0);
  });

  it("answers malformed JSON with 400 VALIDATION_ERROR", async () => {
    const { auth } = await t.userWithToken();
    const res = await t.app.inject({
      method: "PATCH",
      url: "/api/users/me",
      headers: { ...auth, "content-type": "application/json" },
      payload: '{"firstName": "unterminated',
    });
    expectError(res, 400, "VALIDATION_ERROR");
  });

  it("lists validation issues with paths", async () => {
    const res = await t.app.inject({
      method: "POST",
      url: "/api/users/signup",
      payload: { email: "not-an-email", password: PASSWORD, firstName: "", lastName: "R" },
    });
    const body = expectError(res, 400, "VALIDATION_ERROR");
    const paths = (body.issues ?? []).map((issue) => issue.path);
    expect(paths).toEqual(expect.arrayContaining(["email", "firstName"]));
  });
});

describe("internal errors", () => {
  // The table is renamed away and back, so this file's other tests keep a working database.
  async function withoutMemberships<T>(run: () => Promise<T>): Promise<T> {
    await sql`alter table memberships rename to memberships_gone`.execute(t.db);
    try {
      return await run();
    } finally {
      await sql`alter table memberships_gone rename to memberships`.execute(t.db);
    }
  }

  it("answers 500 INTERNAL_ERROR 'Internal server error' without SQL or stack text", async () => {
    const { user, auth } = await t.userWithToken({ role: "Admin" });
    const res = await withoutMemberships(() =>
      t.app.inject({
        method: "GET",
        url: `/api/users/${user.id}/accessible-organizations`,
        headers: auth,
      }),
    );
    expect(res.statusCode).toBe(500);
    const body = ZApiErrorBody.strict().parse(res.json());
    expect(body).toMatchObject({ code: "INTERNAL_ERROR", message: "Internal server error" });
    expect(body.issues).toBeUndefined();
    expect(res.body).not.toMatch(LEAKS);
  });

  it("answers the native tRPC door the same way, without a stack", async () => {
    const { user, auth } = await t.userWithToken({ role: "Admin" });
    const input = encodeURIComponent(JSON.stringify({ id: user.id }));
    const res = await withoutMemberships(() =>
      t.app.inject({
        method: "GET",
        url: `/trpc/users.accessibleOrganizations?input=${input}`,
        headers: auth,
      }),
    );
    expect(res.statusCode).toBe(500);
    const { error } = res.json();
    expect(error.message).toBe("Internal server error");
    expect(error.data.code).toBe("INTERNAL_ERROR");
    expect(error.data.stack).toBeUndefined();
    expect(res.body).not.toMatch(LEAKS);
  });

  it("throws INTERNAL_ERROR from the tRPC caller", async () => {
    const user = await t.createUser();
    const caller = await t.callerFor(user);
    await withoutMemberships(async () => {
      await expect(caller.users.accessibleOrganizations({ id: user.id })).rejects.toMatchObject({
        apiCode: "INTERNAL_ERROR",
        code: "INTERNAL_SERVER_ERROR",
      });
    });
    // And the database works again afterwards.
    await expect(caller.users.accessibleOrganizations({ id: user.id })).resolves.toEqual({
      organizations: [],
    });
  });
});
