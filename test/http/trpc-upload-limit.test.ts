import Fastify, { type FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { imagesRouter } from "../../routers/images/router.ts";
import { registerTrpcDoor } from "../../server/http/trpc-http.ts";
import { router } from "../../server/trpc.ts";
import { makeImage } from "../helpers/image-fixtures.ts";
import { createTestApp, type TestApp } from "../helpers/test-app.ts";

let t: TestApp;
let app: FastifyInstance;
beforeAll(async () => {
  t = await createTestApp();
  // The tRPC door as server/app.ts mounts it (with its upload allowance and error handler).
  app = Fastify({ bodyLimit: t.config.BODY_LIMIT_BYTES });
  await registerTrpcDoor(app, t.deps, router({ images: imagesRouter }));
});
afterAll(async () => {
  await app.close();
  await t.close();
});

describe("native tRPC uploads over HTTP", () => {
  it("takes a base64 image larger than the app's bodyLimit on the upload path only", async () => {
    const { auth } = await t.userWithToken();
    const png = await makeImage("png", 300, 300);
    const payload = { imageBase64: png.toString("base64") };
    expect(JSON.stringify(payload).length).toBeGreaterThan(t.config.BODY_LIMIT_BYTES);

    const res = await app.inject({
      method: "POST",
      url: "/trpc/images.uploadProfileImage",
      headers: auth,
      payload,
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().result.data.imageUrl).toMatch(/\/api\/users\/\d+\/profile\/image$/);

    for (const url of [
      "/trpc/images.deleteProfileImage",
      "/trpc/images.uploadProfileImage,images.deleteProfileImage?batch=1",
    ]) {
      const other = await app.inject({ method: "POST", url, headers: auth, payload });
      expect(other.statusCode, url).toBe(413);
      // Errors on /trpc, Fastify's own included, are in tRPC's shape.
      expect(other.json().error.data.code).toBe("PAYLOAD_TOO_LARGE");
    }
  });

  it("holds other paths to the app's limit when the body streams without a length", async () => {
    const { auth } = await t.userWithToken();
    const { Readable } = await import("node:stream");
    const chunks = Array.from({ length: 40 }, () => Buffer.alloc(4096, 0x61));
    const res = await app.inject({
      method: "POST",
      url: "/trpc/images.deleteProfileImage",
      headers: { ...auth, "content-type": "application/json", "transfer-encoding": "chunked" },
      payload: Readable.from(chunks),
    });
    expect(res.statusCode).toBe(413);
    expect(res.json().error.data.code).toBe("PAYLOAD_TOO_LARGE");
  });

  it("still refuses an upload past MAX_IMAGE_BYTES", async () => {
    const { auth } = await t.userWithToken();
    const imageBase64 = Buffer.alloc(8 * 1024 * 1024).toString("base64");
    const res = await app.inject({
      method: "POST",
      url: "/trpc/images.uploadProfileImage",
      headers: auth,
      payload: { imageBase64 },
    });
    expect(res.statusCode).toBe(413);
  });
});
