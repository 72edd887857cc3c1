/**
 * OWASP API Security Top 10 (2023) — API4:2023 Unrestricted Resource Consumption.
 * OWASP ASVS 5.0: V2.4.1 (anti-automation / resource limits per operation), V4.x/V13.x API
 * request limits (body size, page size, query complexity), V5.2.1 (upload size limits),
 * V15.2.x (resource-exhausting input bounded), V6.2.x (password length bounded before hashing).
 *
 * Body over BODY_LIMIT_BYTES → 413 on both doors; upload over MAX_IMAGE_BYTES → 413; `$top` over
 * 1000 → 400 INVALID_FILTER (users, organizations, members, audit); `$filter` over 2,000
 * characters, over 32 levels of nesting or too many terms → 400 INVALID_FILTER; deeply nested JSON
 * → 400; an over-long password is refused before hashing; 50 concurrent signups (RATE_LIMIT off)
 * give no 5xx and bounded memory growth. Rate limits proper are in api2 and api6.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectError } from "../helpers/expect-error.ts";
import { createTestApp, PASSWORD, type TestApp } from "../helpers/test-app.ts";
import { multipartImage } from "./operations.ts";

const MAX_IMAGE_BYTES = 64 * 1024;

let t: TestApp;
let admin: Awaited<ReturnType<TestApp["userWithToken"]>>;
beforeAll(async () => {
  t = await createTestApp({ MAX_IMAGE_BYTES: String(MAX_IMAGE_BYTES) });
  admin = await t.userWithToken({ role: "AppAdmin" });
});
afterAll(() => t.close());

const list = (url: string) => t.app.inject({ method: "GET", url, headers: admin.auth });
const filter = (expression: string) => list(`/api/users?$filter=${encodeURIComponent(expression)}`);

describe("API4 request size", () => {
  it("a JSON body over BODY_LIMIT_BYTES is 413 PAYLOAD_TOO_LARGE (REST)", async () => {
    const limit = t.config.BODY_LIMIT_BYTES;
    const res = await t.app.inject({
      method: "PATCH",
      url: "/api/users/me",
      headers: { ...admin.auth, "content-type": "application/json" },
      payload: JSON.stringify({ firstName: "x".repeat(limit + 10) }),
    });
    expectError(res, 413, "PAYLOAD_TOO_LARGE");
  });

  it("the same on the tRPC door", async () => {
    const limit = t.config.BODY_LIMIT_BYTES;
    const res = await t.app.inject({
      method: "POST",
      url: "/trpc/users.updateMe",
      headers: { ...admin.auth, "content-type": "application/json" },
      payload: JSON.stringify({ firstName: "x".repeat(limit + 10) }),
    });
    expect(res.statusCode).toBe(413);
  });

  it("an anonymous over-large body is refused too (before any authentication work)", async () => {
    const res = await t.app.inject({
      method: "POST",
      url: "/api/auth/token",
      headers: { "content-type": "application/json" },
      payload: JSON.stringify({ email: "a@b.co", password: "p".repeat(200_000) }),
    });
    expectError(res, 413, "PAYLOAD_TOO_LARGE");
  });

  it("an image upload over MAX_IMAGE_BYTES is 413, and nothing is stored", async () => {
    const { user, accessToken } = await t.userWithToken();
    const { contentType } = await multipartImage();
    const boundary = contentType.split("boundary=")[1] as string;
    const payload = Buffer.concat([
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="big.png"\r\nContent-Type: image/png\r\n\r\n`,
      ),
      Buffer.alloc(MAX_IMAGE_BYTES + 1024, 0x41),
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const res = await t.app.inject({
      method: "POST",
      url: "/api/users/profile/image",
      headers: { authorization: `Bearer ${accessToken}`, "content-type": contentType },
      payload,
    });
    expectError(res, 413, "PAYLOAD_TOO_LARGE");
    const stored = await t.db
      .selectFrom("profile_images")
      .select("user_id")
      .where("user_id", "=", user.id)
      .execute();
    expect(stored).toEqual([]);
  });

  it("a password over the schema's bound is a 400 before any hashing", async () => {
    const started = performance.now();
    const res = await t.app.inject({
      method: "POST",
      url: "/api/auth/token",
      payload: { email: "someone@example.com", password: "p".repeat(1025) },
    });
    expectError(res, 400, "VALIDATION_ERROR");
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it("deeply nested JSON is a 400, not a crash", async () => {
    const depth = 10_000; // within BODY_LIMIT_BYTES: the depth, not the size, is the attack
    const payload = `${'{"a":'.repeat(depth)}"x"${"}".repeat(depth)}`;
    const res = await t.app.inject({
      method: "PATCH",
      url: "/api/users/me",
      headers: { ...admin.auth, "content-type": "application/json" },
      payload,
    });
    expectError(res, 400, "VALIDATION_ERROR");
    const arrays = await t.app.inject({
      method: "POST",
      url: "/api/users/signup",
      headers: { "content-type": "application/json" },
      payload: `{"email":${"[".repeat(depth)}${"]".repeat(depth)}}`,
    });
    expectError(arrays, 400, "VALIDATION_ERROR");
  });
});

describe("API4 page size and query complexity", () => {
  for (const url of [
    "/api/users?$top=1001",
    "/api/organizations?$top=1001",
    "/api/audit?$top=1001",
  ]) {
    it(`${url} → 400 INVALID_FILTER`, async () => {
      expectError(await list(url), 400, "INVALID_FILTER");
    });
  }

  it("members $top=1001 → 400 INVALID_FILTER", async () => {
    const org = await t.app.inject({
      method: "POST",
      url: "/api/organizations",
      headers: admin.auth,
      payload: { name: "Limits" },
    });
    expect(org.statusCode).toBe(201);
    expectError(
      await list(`/api/organizations/${org.json().id}/members?$top=1001`),
      400,
      "INVALID_FILTER",
    );
  });

  it("$top=1000 is allowed and the default page is 100", async () => {
    expect((await list("/api/users?$top=1000")).statusCode).toBe(200);
  });

  for (const value of ["0", "-1", "1e9", "abc", "1.5", "99999999999999999999"]) {
    it(`$top=${value} → 400 INVALID_FILTER`, async () => {
      expectError(
        await list(`/api/users?$top=${encodeURIComponent(value)}`),
        400,
        "INVALID_FILTER",
      );
    });
  }

  it("$skip beyond its bound → 400 INVALID_FILTER", async () => {
    expectError(await list("/api/users?$skip=1000000001"), 400, "INVALID_FILTER");
  });

  it("a 2,001-character $filter → 400 INVALID_FILTER; 2,000 is parsed", async () => {
    const padded = (length: number) => {
      const head = "email eq '";
      return `${head}${"a".repeat(length - head.length - 1)}'`;
    };
    expect(padded(2001)).toHaveLength(2001);
    expectError(await filter(padded(2001)), 400, "INVALID_FILTER");
    expect((await filter(padded(2000))).statusCode).toBe(200);
  });

  it("nesting beyond 32 levels → 400 INVALID_FILTER naming a position", async () => {
    for (const expression of [
      `${"(".repeat(40)}id eq 1${")".repeat(40)}`,
      `${"not ".repeat(40)}(id eq 1)`,
      `${"tolower(".repeat(40)}email${")".repeat(40)} eq 'a'`,
      "(".repeat(1990),
    ]) {
      const body = expectError(await filter(expression), 400, "INVALID_FILTER");
      expect(body.message).toMatch(/position|depth|nest|deep|long/i);
    }
  });

  it("too many terms or in-values → 400 INVALID_FILTER, quickly", async () => {
    const started = performance.now();
    const manyTerms = Array.from({ length: 220 }, (_, i) => `id eq ${i}`).join(" or ");
    const manyValues = `id in (${Array.from({ length: 300 }, (_, i) => i).join(",")})`;
    for (const expression of [manyTerms.slice(0, 2000), manyValues]) {
      const res = await filter(expression);
      expect(res.statusCode, res.body).toBe(400);
    }
    expect(performance.now() - started).toBeLessThan(3000);
  });

  it("over-long $orderby, $select and $skiptoken → 400", async () => {
    for (const url of [
      `/api/users?$orderby=${"id,".repeat(100)}id`,
      `/api/users?$select=${"email,".repeat(60)}id`,
      `/api/users?$skiptoken=${"A".repeat(4001)}`,
      "/api/users?$skiptoken=forged-cursor",
      "/api/users?$orderby=id asc,email asc,lastName asc,firstName asc",
    ]) {
      const res = await list(url);
      expect(res.statusCode, `${url}: ${res.body}`).toBe(400);
    }
  });
});

describe("API4 a burst of signups", () => {
  it("50 concurrent signups: no 5xx (503 with Retry-After allowed), bounded RSS growth", async () => {
    const before = process.memoryUsage().rss;
    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        t.app.inject({
          method: "POST",
          url: "/api/users/signup",
          payload: {
            email: `burst-${i}-${Date.now()}@example.com`,
            password: PASSWORD,
            firstName: "Burst",
            lastName: `N${i}`,
          },
        }),
      ),
    );
    const growthMb = (process.memoryUsage().rss - before) / 1024 / 1024;
    const statuses = responses.map((res) => res.statusCode);
    for (const res of responses) {
      if (res.statusCode === 503) {
        expect(res.headers["retry-after"]).toBeDefined();
        continue;
      }
      expect(res.statusCode, res.body).toBe(201);
    }
    expect(statuses.filter((s) => s === 201).length).toBeGreaterThan(0);
    expect(growthMb).toBeLessThan(300);
  });
});
