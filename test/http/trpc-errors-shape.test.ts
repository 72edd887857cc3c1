// Every error under /trpc is in tRPC's shape, `{error: {message, code, data: {code, httpStatus}}}`,
// Fastify's own included (bad URL, bad or too large body, other methods, shutdown), and batches
// of long procedure names are not cut by Fastify's maxParamLength (issue 14, item 8).
import type { InjectOptions } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, type TestApp } from "../helpers/test-app.ts";

let t: TestApp;
let auth: { authorization: string };
beforeAll(async () => {
  t = await createTestApp();
  ({ auth } = await t.userWithToken({ role: "AppAdmin" }));
}, 60_000);
afterAll(() => t?.close());

async function expectTrpcError(request: InjectOptions, status: number, code: string) {
  const res = await t.app.inject(request);
  expect(res.statusCode, res.body).toBe(status);
  expect(res.headers["content-type"]).toBe("application/json; charset=utf-8");
  const body = res.json();
  expect(body).toEqual({
    error: {
      message: expect.any(String),
      code: expect.any(Number),
      data: expect.objectContaining({ code, httpStatus: status }),
    },
  });
  return res;
}

const json = { "content-type": "application/json" };

describe("errors on /trpc are in tRPC's shape", () => {
  it.each([
    [
      "a malformed %-escape in the path",
      { method: "GET", url: "/trpc/users.me%E0%A4%A" },
      400,
      "VALIDATION_ERROR",
    ],
    ["no procedure at all", { method: "GET", url: "/trpc" }, 404, "NOT_FOUND"],
    ["an unknown procedure", { method: "GET", url: "/trpc/users.nothing" }, 404, "NOT_FOUND"],
    ["PUT", { method: "PUT", url: "/trpc/users.me" }, 405, "METHOD_NOT_ALLOWED"],
    ["DELETE", { method: "DELETE", url: "/trpc/users.delete" }, 405, "METHOD_NOT_ALLOWED"],
    [
      "OPTIONS without CORS",
      { method: "OPTIONS", url: "/trpc/users.me" },
      405,
      "METHOD_NOT_ALLOWED",
    ],
    ["a mutation by GET", { method: "GET", url: "/trpc/users.signup" }, 405, "METHOD_NOT_ALLOWED"],
    [
      "a body that is not JSON",
      { method: "POST", url: "/trpc/users.updateMe", headers: json, payload: "{nope" },
      400,
      "VALIDATION_ERROR",
    ],
    [
      "a __proto__ key",
      {
        method: "POST",
        url: "/trpc/users.updateMe",
        headers: json,
        payload: '{"__proto__":{"a":1}}',
      },
      400,
      "VALIDATION_ERROR",
    ],
    [
      "an unsupported content type",
      {
        method: "POST",
        url: "/trpc/users.updateMe",
        headers: { "content-type": "application/xml" },
        payload: "<a/>",
      },
      415,
      "UNSUPPORTED_MEDIA_TYPE",
    ],
    [
      "a body over BODY_LIMIT_BYTES",
      {
        method: "POST",
        url: "/trpc/users.updateMe",
        headers: json,
        payload: JSON.stringify({ firstName: "x".repeat(70_000) }),
      },
      413,
      "PAYLOAD_TOO_LARGE",
    ],
    [
      "17 calls in one batch",
      { method: "GET", url: `/trpc/${Array(17).fill("users.me").join(",")}?batch=1` },
      400,
      "VALIDATION_ERROR",
    ],
    [
      "a streamed call that is not a batch",
      { method: "GET", url: "/trpc/users.me", headers: { "trpc-accept": "application/jsonl" } },
      400,
      "VALIDATION_ERROR",
    ],
  ] as const)("%s", async (_, request, status, code) => {
    await expectTrpcError(
      {
        ...request,
        headers: { ...auth, ...("headers" in request ? request.headers : {}) },
      } as InjectOptions,
      status,
      code,
    );
  });

  it("says where the token is missing, as the REST door does", async () => {
    const res = await expectTrpcError(
      { method: "GET", url: "/trpc/users.me" },
      401,
      "UNAUTHENTICATED",
    );
    expect(res.headers["www-authenticate"]).toBe("Bearer");
  });
});

describe("batches of long procedure names (Fastify's maxParamLength is 100)", () => {
  const names = [
    "users.me",
    "users.list",
    "users.sessions",
    "organizations.list",
    "users.me",
    "users.list",
    "users.sessions",
    "organizations.list",
  ];

  it("eight ordinary queries in one GET batch", async () => {
    const paths = names.join(",");
    expect(paths.length).toBeGreaterThan(100);
    const inputs = Object.fromEntries(
      names.map((name, i) => [i, name.endsWith("list") ? {} : undefined]),
    );
    const res = await t.app.inject({
      method: "GET",
      url: `/trpc/${paths}?batch=1&input=${encodeURIComponent(JSON.stringify(inputs))}`,
      headers: auth,
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toHaveLength(8);
  });

  it("16 calls of the longest names, by GET and by POST", async () => {
    const longest = "users.accessibleOrganizations";
    const { user } = await t.userWithToken();
    const paths = Array(16).fill(longest).join(",");
    const inputs = Object.fromEntries(Array.from({ length: 16 }, (_, i) => [i, { id: user.id }]));
    const get = await t.app.inject({
      method: "GET",
      url: `/trpc/${paths}?batch=1&input=${encodeURIComponent(JSON.stringify(inputs))}`,
      headers: auth,
    });
    expect(get.statusCode, get.body).toBe(200);
    expect(get.json()).toHaveLength(16);
    const post = await t.app.inject({
      method: "POST",
      url: `/trpc/${paths}?batch=1`,
      headers: { ...auth, ...json },
      payload: JSON.stringify(inputs),
    });
    expect(post.statusCode, post.body).toBe(200);
    expect(post.json()).toEqual(get.json());
  });
});

describe("while the server drains", () => {
  it("a request to /trpc is a 503 in tRPC's shape", async () => {
    t.app.startDraining();
    const res = await expectTrpcError(
      { method: "GET", url: "/trpc/users.me" },
      503,
      "SERVICE_UNAVAILABLE",
    );
    expect(res.headers["retry-after"]).toBe("1");
  });
});
