/**
 * A body is read only for a caller who may send it, and no JSON body may nest without bound.
 * An anonymous 6 MB body of 3 million nested arrays sent to the upload procedure, whose body
 * limit is raised for images, was read and parsed (~2 s of blocked event loop each) before the
 * token was checked. Now the token is checked before the body is read, on both doors, and every
 * JSON body's nesting is bounded (JSON_MAX_DEPTH) before it is parsed.
 */
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assertJsonDepth, parseBoundedJson } from "../../server/http/bounded-json.ts";
import { imagePart, makeImage } from "../helpers/image-fixtures.ts";
import { createTestApp, type TestApp } from "../helpers/test-app.ts";

let t: TestApp;
let base: string;
beforeAll(async () => {
  t = await createTestApp();
  await t.app.listen({ port: 0, host: "127.0.0.1" });
  base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
});
afterAll(() => t.close());

/** 3 million nested arrays: 6 MB, inside the upload procedure's raised limit. */
const NESTED = `${"[".repeat(3_000_000)}${"]".repeat(3_000_000)}`;

const nested = (depth: number) => `${"[".repeat(depth)}${"]".repeat(depth)}`;

async function post(path: string, body: string | Buffer, headers: Record<string, string> = {}) {
  const started = performance.now();
  const res = await fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body,
  });
  const text = await res.text();
  return { status: res.status, json: JSON.parse(text), ms: performance.now() - started };
}

describe("an anonymous upload is refused before its body is read", () => {
  it("tRPC: 401 in tRPC's shape for 6 MB of nested arrays", async () => {
    const res = await post("/trpc/images.uploadProfileImage", NESTED);
    expect(res.status).toBe(401);
    expect(res.json.error.data.code).toBe("UNAUTHENTICATED");
  });

  it("REST: 401 in the API's shape, whether the body is JSON or multipart", async () => {
    const json = await post("/api/users/profile/image", NESTED);
    expect(json.status).toBe(401);
    expect(json.json.code).toBe("UNAUTHENTICATED");
    const { payload, headers } = await imagePart(await makeImage("png", 8, 8));
    const big = Buffer.concat([payload, Buffer.alloc(6 * 1024 * 1024, 0x20)]);
    const multipart = await post("/api/users/profile/image", big, headers);
    expect(multipart.status).toBe(401);
    expect(multipart.json.code).toBe("UNAUTHENTICATED");
  });

  it("four such uploads at once do not hold up a signed-in caller's GET /api/users/me", async () => {
    const { auth } = await t.userWithToken();
    const me = async () => {
      const started = performance.now();
      const res = await fetch(`${base}/api/users/me`, { headers: auth });
      await res.text();
      return { status: res.status, ms: performance.now() - started };
    };
    await me(); // warm
    for (let round = 0; round < 3; round++) {
      const attacks = Array.from({ length: 4 }, (_, i) =>
        post(i % 2 ? "/trpc/images.uploadProfileImage" : "/api/users/profile/image", NESTED),
      );
      // Sent while the attack bodies arrive.
      await new Promise((resolve) => setTimeout(resolve, 20));
      const answer = await me();
      const refused = await Promise.all(attacks);
      expect(answer.status).toBe(200);
      // Loose: the machine is shared. Parsing the four bodies took seconds before.
      expect(answer.ms, `round ${round}`).toBeLessThan(3000);
      console.info(`GET /api/users/me during 4 anonymous 6 MB uploads: ${answer.ms.toFixed(0)} ms`);
      expect(refused.map((res) => res.status)).toEqual([401, 401, 401, 401]);
    }
  }, 60_000);

  it("a signed-in caller still uploads through tRPC with the raised limit", async () => {
    const { auth } = await t.userWithToken();
    // A tiny real PNG is enough: the route is reached and the image stored.
    const png = await makeImage("png", 8, 8);
    const res = await post(
      "/trpc/images.uploadProfileImage",
      JSON.stringify({ imageBase64: png.toString("base64") }),
      auth,
    );
    expect(res.status, JSON.stringify(res.json)).toBe(200);
  });
});

describe("JSON nesting is bounded on every door", () => {
  const deepSignup = (depth: number) =>
    `{"email":"deep@example.com","password":"x","firstName":"D","lastName":"N","extra":${nested(depth - 1)}}`;

  it("REST: deeper than JSON_MAX_DEPTH is 400 VALIDATION_ERROR naming the depth", async () => {
    const res = await post("/api/users/signup", deepSignup(65));
    expect(res.status).toBe(400);
    expect(res.json).toEqual({
      code: "VALIDATION_ERROR",
      message: "Malformed request: JSON nests deeper than 64 levels",
    });
    // At the bound the body is parsed, and refused by its schema instead (the unknown field).
    const atBound = await post("/api/users/signup", deepSignup(64));
    expect(atBound.status).toBe(400);
    expect(atBound.json.message).not.toMatch(/nests deeper/);
  });

  it("tRPC: the same refusal in tRPC's shape, batches included", async () => {
    const single = await post("/trpc/users.signup", deepSignup(65));
    expect(single.status).toBe(400);
    expect(single.json.error.data.code).toBe("VALIDATION_ERROR");
    expect(single.json.error.message).toMatch(/nests deeper than 64/);

    // The request fails as a whole: one `{error}`, as tRPC answers a body it cannot read.
    const batch = await post("/trpc/users.signup,users.signup?batch=1", `{"0":${deepSignup(65)}}`);
    expect(batch.status).toBe(400);
    expect(batch.json.error.data.code).toBe("VALIDATION_ERROR");
    expect(batch.json.error.message).toMatch(/nests deeper than 64/);
  });

  it("counts only structure: brackets inside strings and escaped quotes do not nest", () => {
    const text = JSON.stringify({ a: "[".repeat(1000), b: '\\"[[[[', c: [[[1]]] });
    expect(parseBoundedJson(text, 4)).toEqual(JSON.parse(text));
    expect(() => assertJsonDepth(nested(5), 4)).toThrow(/nests deeper than 4/);
    expect(() => assertJsonDepth(`{"a":{"b":{"c":{"d":{}}}}}`, 4)).toThrow();
    expect(() => parseBoundedJson("[1,", 4)).toThrow(/not valid JSON/);
  });
});
