import { createHash } from "node:crypto";
import type { LightMyRequestResponse } from "fastify";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { insertOrganization, upsertMembership } from "../../db/organizations.ts";
import { upsertProfileImage } from "../../db/profile-images.ts";
import type { UserRow } from "../../db/users.ts";
import { deleteProfileImageRoute } from "../../routers/images/delete.ts";
import { registerRestRoutes } from "../../server/http/rest.ts";
import { createImageProcessor } from "../../server/images/processing.ts";
import { router } from "../../server/trpc.ts";
import { expectError } from "../helpers/expect-error.ts";
import { imagePart, makeImage, multipart, pngBombHeader } from "../helpers/image-fixtures.ts";
import { createTestApp, type TestApp } from "../helpers/test-app.ts";

const URL_SELF = "/api/users/profile/image";
const urlOf = (id: number) => `/api/users/${id}/profile/image`;

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
  // DELETE is a plain openapi-mapped procedure: mount it the way server/http/rest.ts does once wired.
  if (!t.app.hasRoute({ method: "DELETE", url: URL_SELF })) {
    const deleteOnly = router({ images: router({ deleteProfileImage: deleteProfileImageRoute }) });
    registerRestRoutes(t.app, t.deps, deleteOnly);
  }
});
afterAll(() => t.close());

type Auth = { authorization: string };

async function upload(
  auth: Auth | Record<string, never>,
  body: Awaited<ReturnType<typeof multipart>>,
) {
  return t.app.inject({
    method: "POST",
    url: URL_SELF,
    headers: { ...auth, ...body.headers },
    payload: body.payload,
  });
}

const storedImage = (userId: number) =>
  t.db.selectFrom("profile_images").selectAll().where("user_id", "=", userId).executeTakeFirst();

describe("upload and get over REST", () => {
  it.each([
    { format: "png" as const, width: 800, height: 600, alpha: true, expected: [512, 384] },
    { format: "jpeg" as const, width: 2000, height: 1500, alpha: false, expected: [512, 384] },
    { format: "webp" as const, width: 300, height: 200, alpha: false, expected: [300, 200] },
  ])(
    "stores a $format re-encoded inside 512×512 and serves WebP to who accepts it, with caching headers",
    async ({ format, width, height, alpha, expected }) => {
      const { user, auth } = await t.userWithToken();
      const original = await makeImage(format, width, height, { alpha });
      const res = await upload(auth, await imagePart(original, `image/${format}`, `me.${format}`));
      expect(res.statusCode, res.body).toBe(200);
      const body = res.json();
      expect(body).toEqual({
        imageUrl: `${t.config.PUBLIC_URL}/api/users/${user.id}/profile/image`,
        uploadedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/),
      });

      for (const url of [URL_SELF, urlOf(user.id)]) {
        const got = await t.app.inject({
          method: "GET",
          url,
          headers: { ...auth, accept: "image/webp,*/*" },
        });
        expect(got.statusCode, got.body).toBe(200);
        expect(got.headers["content-type"]).toBe("image/webp");
        expect(got.headers["content-length"]).toBe(String(got.rawPayload.length));
        expect(got.headers.etag).toMatch(/^"[A-Za-z0-9_-]{43}"$/);
        expect(got.headers["cache-control"]).toBe("private, max-age=300");
        expect(got.headers["x-content-type-options"]).toBe("nosniff");
        expect(got.headers.vary).toMatch(/Authorization/);
        expect(got.rawPayload.equals(original)).toBe(false);
        const served = await sharp(got.rawPayload).metadata();
        expect(served.format).toBe("webp");
        expect([served.width, served.height]).toEqual(expected);
        expect(served.hasAlpha).toBe(alpha);
        // A full decode succeeds.
        await sharp(got.rawPayload).raw().toBuffer();
      }
      const row = await storedImage(user.id);
      expect(row).toMatchObject({
        content_type: "image/webp",
        width: expected[0],
        height: expected[1],
      });
      expect(row?.byte_size).toBe(row?.content.byteLength);
    },
  );

  it("orients by EXIF and strips the metadata (a marker in the EXIF never comes back)", async () => {
    const { auth } = await t.userWithToken();
    // Stored 1200×600 with "rotate 90° clockwise" (6): shown upright it is 600×1200.
    const original = await makeImage("jpeg", 1200, 600, {
      exifDescription: "MARKER-123",
      orientation: 6,
    });
    expect(original.includes("MARKER-123")).toBe(true);
    expect((await upload(auth, await imagePart(original, "image/jpeg", "me.jpg"))).statusCode).toBe(
      200,
    );

    const got = await t.app.inject({ method: "GET", url: URL_SELF, headers: auth });
    expect(got.rawPayload.includes("MARKER-123")).toBe(false);
    const served = await sharp(got.rawPayload).metadata();
    expect([served.width, served.height]).toEqual([256, 512]);
    expect(served.exif).toBeUndefined();
    expect(served.xmp).toBeUndefined();
    expect(served.icc).toBeUndefined();
    expect(served.orientation).toBeUndefined();
  });

  it("replaces the previous image: one row, a new ETag", async () => {
    const { user, auth } = await t.userWithToken();
    await upload(auth, await imagePart(await makeImage("png", 64, 64)));
    const first = await t.app.inject({ method: "GET", url: URL_SELF, headers: auth });
    await upload(auth, await imagePart(await makeImage("jpeg", 100, 50), "image/jpeg"));
    const second = await t.app.inject({ method: "GET", url: URL_SELF, headers: auth });
    expect(second.headers.etag).not.toBe(first.headers.etag);
    expect((await sharp(second.rawPayload).metadata()).width).toBe(100);
    const rows = await t.db
      .selectFrom("profile_images")
      .select("user_id")
      .where("user_id", "=", user.id)
      .execute();
    expect(rows).toHaveLength(1);
  });
});

describe("judged by the bytes", () => {
  it.each([
    { name: "text", data: "just some text, honestly a PNG" },
    {
      name: "SVG",
      data: '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script></svg>',
    },
    { name: "HTML", data: "<!doctype html><html><body><script>alert(1)</script></body></html>" },
    { name: "a GIF", data: Buffer.from("R0lGODlhAQABAAAAACw=", "base64") },
  ])("refuses $name labelled image/png with 415 and stores nothing", async ({ data }) => {
    const { user, auth } = await t.userWithToken();
    const res = await upload(auth, await imagePart(data, "image/png", "me.png"));
    expectError(res, 415, "UNSUPPORTED_MEDIA_TYPE");
    expect(await storedImage(user.id)).toBeUndefined();
  });

  it("refuses a PNG signature followed by garbage, and a truncated JPEG, with 415", async () => {
    const { user, auth } = await t.userWithToken();
    const png = await makeImage("png", 200, 200);
    const garbage = Buffer.concat([png.subarray(0, 8), Buffer.alloc(500, 7)]);
    expectError(await upload(auth, await imagePart(garbage)), 415, "UNSUPPORTED_MEDIA_TYPE");
    const jpeg = await makeImage("jpeg", 400, 400);
    const truncated = jpeg.subarray(0, Math.floor(jpeg.length / 2));
    expectError(
      await upload(auth, await imagePart(truncated, "image/jpeg")),
      415,
      "UNSUPPORTED_MEDIA_TYPE",
    );
    expect(await storedImage(user.id)).toBeUndefined();
  });

  it("takes a real image whatever its declared type and name", async () => {
    const { auth } = await t.userWithToken();
    const jpeg = await makeImage("jpeg", 120, 80);
    const res = await upload(auth, await imagePart(jpeg, "text/plain", "notes.txt"));
    expect(res.statusCode, res.body).toBe(200);
  });
});

describe("limits", () => {
  it("refuses 6 MiB with 413 PAYLOAD_TOO_LARGE and keeps the image it had", async () => {
    const { user, auth } = await t.userWithToken();
    await upload(auth, await imagePart(await makeImage("png", 32, 32)));
    const before = await storedImage(user.id);
    const big = Buffer.alloc(6 * 1024 * 1024, 0x41);
    (await makeImage("png", 8, 8)).copy(big);
    expectError(await upload(auth, await imagePart(big)), 413, "PAYLOAD_TOO_LARGE");
    expect((await storedImage(user.id))?.etag).toBe(before?.etag);

    const other = await t.userWithToken();
    expectError(await upload(other.auth, await imagePart(big)), 413, "PAYLOAD_TOO_LARGE");
    expect(await storedImage(other.user.id)).toBeUndefined();
  });

  it("refuses two files with 400", async () => {
    const { user, auth } = await t.userWithToken();
    const png = await makeImage("png", 16, 16);
    const body = await multipart([
      { name: "image", data: png, filename: "a.png", contentType: "image/png" },
      { name: "image", data: png, filename: "b.png", contentType: "image/png" },
    ]);
    expectError(await upload(auth, body), 400, "VALIDATION_ERROR");
    expect(await storedImage(user.id)).toBeUndefined();
  });

  it("refuses no file, an empty form and an extra field with 400", async () => {
    const { user, auth } = await t.userWithToken();
    const png = await makeImage("png", 16, 16);
    const bodies = [
      await multipart([{ name: "caption", data: "hello" }]),
      await multipart([]),
      await multipart([
        { name: "image", data: png, filename: "a.png", contentType: "image/png" },
        { name: "caption", data: "hello" },
      ]),
      await imagePart(Buffer.alloc(0)),
    ];
    for (const body of bodies) expectError(await upload(auth, body), 400, "VALIDATION_ERROR");
    expect(await storedImage(user.id)).toBeUndefined();
  });

  it("refuses a JSON body with 415: the upload is multipart", async () => {
    const { auth } = await t.userWithToken();
    const res = await t.app.inject({
      method: "POST",
      url: URL_SELF,
      headers: auth,
      payload: { imageBase64: "iVBORw0KGgo=" },
    });
    expectError(res, 415, "UNSUPPORTED_MEDIA_TYPE");
  });

  it("refuses a 40000×40000 PNG header quickly with 413, and the server still answers", async () => {
    const { user, auth } = await t.userWithToken();
    const bomb = pngBombHeader(40_000, 40_000);
    expect(bomb.length).toBeLessThan(200);
    const started = performance.now();
    const res = await upload(auth, await imagePart(bomb));
    expect(performance.now() - started).toBeLessThan(1000);
    expectError(res, 413, "PAYLOAD_TOO_LARGE");
    expect(await storedImage(user.id)).toBeUndefined();
    const health = await t.app.inject({ method: "GET", url: "/healthz" });
    expect(health.statusCode).toBe(200);
  });

  it("leaves the JSON routes alone: multipart there is still 415", async () => {
    const res = await t.app.inject({
      method: "POST",
      url: "/api/users/signup",
      ...(await multipart([{ name: "email", data: "a@example.com" }])),
    });
    expectError(res, 415, "UNSUPPORTED_MEDIA_TYPE");
  });
});

describe("caching", () => {
  it("answers If-None-Match with 304 (strong, weak, list, *) and a stale one with 200", async () => {
    const { auth } = await t.userWithToken();
    await upload(auth, await imagePart(await makeImage("png", 40, 40)));
    const first = await t.app.inject({ method: "GET", url: URL_SELF, headers: auth });
    const etag = first.headers.etag as string;
    for (const ifNoneMatch of [etag, `W/${etag}`, `"stale", ${etag}`, "*"]) {
      const res = await t.app.inject({
        method: "GET",
        url: URL_SELF,
        headers: { ...auth, "if-none-match": ifNoneMatch },
      });
      expect(res.statusCode, ifNoneMatch).toBe(304);
      expect(res.rawPayload.length).toBe(0);
      expect(res.headers.etag).toBe(etag);
      expect(res.headers["cache-control"]).toBe("private, max-age=300");
    }
    const stale = await t.app.inject({
      method: "GET",
      url: URL_SELF,
      headers: { ...auth, "if-none-match": '"stale"' },
    });
    expect(stale.statusCode).toBe(200);
    expect(stale.rawPayload.equals(first.rawPayload)).toBe(true);
  });

  it("keeps the ETag for the same bytes (it is the content's hash)", async () => {
    const { auth } = await t.userWithToken();
    const png = await makeImage("png", 40, 40);
    await upload(auth, await imagePart(png));
    const first = await t.app.inject({ method: "GET", url: URL_SELF, headers: auth });
    await upload(auth, await imagePart(png));
    const second = await t.app.inject({ method: "GET", url: URL_SELF, headers: auth });
    expect(second.headers.etag).toBe(first.headers.etag);
  });
});

describe("delete", () => {
  it("deletes, then GET and DELETE are 404 IMAGE_NOT_FOUND", async () => {
    const { user, auth } = await t.userWithToken();
    await upload(auth, await imagePart(await makeImage("png", 20, 20)));
    const res = await t.app.inject({ method: "DELETE", url: URL_SELF, headers: auth });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ success: true, message: "Profile image deleted" });
    expect(await storedImage(user.id)).toBeUndefined();
    expectError(
      await t.app.inject({ method: "GET", url: URL_SELF, headers: auth }),
      404,
      "IMAGE_NOT_FOUND",
    );
    expectError(
      await t.app.inject({ method: "GET", url: urlOf(user.id), headers: auth }),
      404,
      "IMAGE_NOT_FOUND",
    );
    expectError(
      await t.app.inject({ method: "DELETE", url: URL_SELF, headers: auth }),
      404,
      "IMAGE_NOT_FOUND",
    );
  });
});

describe("who may see whose image", () => {
  let owner: { user: UserRow; auth: Auth };
  beforeAll(async () => {
    owner = await t.userWithToken();
    await upload(owner.auth, await imagePart(await makeImage("png", 30, 30)));
  });

  it("gives a user who may not see the owner 404 USER_NOT_FOUND, as for no such user", async () => {
    const stranger = await t.userWithToken();
    expectError(
      await t.app.inject({ method: "GET", url: urlOf(owner.user.id), headers: stranger.auth }),
      404,
      "USER_NOT_FOUND",
    );
    expectError(
      await t.app.inject({ method: "GET", url: urlOf(2_147_483_000), headers: stranger.auth }),
      404,
      "USER_NOT_FOUND",
    );
  });

  it("shows it to a member of the owner's organization and to an admin", async () => {
    const colleague = await t.userWithToken();
    const admin = await t.userWithToken({ role: "Admin" });
    const org = await insertOrganization(t.db, { name: `team-${owner.user.id}`, parentId: null });
    for (const user of [owner.user, colleague.user]) {
      await upsertMembership(t.db, { userId: user.id, organizationId: org.id, role: "Member" });
    }
    for (const viewer of [colleague, admin]) {
      const res = await t.app.inject({
        method: "GET",
        url: urlOf(owner.user.id),
        headers: viewer.auth,
      });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.headers["content-type"]).toBe("image/jpeg");
    }
    // Visible, but without an image.
    expectError(
      await t.app.inject({ method: "GET", url: urlOf(colleague.user.id), headers: admin.auth }),
      404,
      "IMAGE_NOT_FOUND",
    );
  });

  it("answers 400 for an id that is not a positive integer", async () => {
    for (const id of ["abc", "0", "99999999999"]) {
      expectError(
        await t.app.inject({
          method: "GET",
          url: `/api/users/${id}/profile/image`,
          headers: owner.auth,
        }),
        400,
        "VALIDATION_ERROR",
      );
    }
  });

  it("answers 401 with WWW-Authenticate: Bearer without a token, before reading the body", async () => {
    const png = await makeImage("png", 16, 16);
    const requests = [
      { method: "POST" as const, url: URL_SELF, ...(await imagePart(png)) },
      { method: "GET" as const, url: URL_SELF },
      { method: "GET" as const, url: urlOf(owner.user.id) },
      { method: "DELETE" as const, url: URL_SELF },
    ];
    for (const request of requests) {
      const res = await t.app.inject(request);
      expectError(res, 401, "UNAUTHENTICATED");
      expect(res.headers["www-authenticate"]).toBe("Bearer");
    }
    const forged = await t.app.inject({
      method: "GET",
      url: URL_SELF,
      headers: { authorization: "Bearer a.b.c" },
    });
    expectError(forged, 401, "UNAUTHENTICATED");
  });
});

describe("content negotiation: WebP to who names it, else JPEG (PNG with transparency)", () => {
  const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("base64url");

  async function get(url: string, auth: Auth, headers: Record<string, string> = {}) {
    const res = await t.app.inject({ method: "GET", url, headers: { ...auth, ...headers } });
    expect([200, 304], res.body).toContain(res.statusCode);
    expect(res.headers.vary).toMatch(/(^|, )Accept(,|$)/);
    expect(res.headers.vary).toMatch(/Authorization/);
    return res;
  }

  /** A 200 whose type, decoded format and ETag (the hash of these very bytes) agree. */
  async function expectServed(res: LightMyRequestResponse, type: string) {
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers["content-type"]).toBe(type);
    expect(res.headers["content-length"]).toBe(String(res.rawPayload.length));
    expect(res.headers.etag).toBe(`"${sha256(res.rawPayload)}"`);
    const served = await sharp(res.rawPayload).metadata();
    expect(served.format).toBe(type.replace("image/", ""));
    return served;
  }

  const OPAQUE_CASES: Array<{ accept: string | undefined; type: string }> = [
    { accept: "image/webp", type: "image/webp" },
    {
      accept: "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8",
      type: "image/webp",
    },
    { accept: "image/jpeg, image/png", type: "image/jpeg" },
    { accept: "*/*", type: "image/jpeg" },
    { accept: "image/*", type: "image/jpeg" },
    { accept: undefined, type: "image/jpeg" },
    { accept: "image/webp;q=0, */*", type: "image/jpeg" },
    { accept: "image/jpeg, image/webp;q=0.5", type: "image/jpeg" },
    { accept: "image/jpeg;q=0.5, image/webp", type: "image/webp" },
    // Nothing we have is acceptable: the reference's format anyway, never 406.
    { accept: "text/html", type: "image/jpeg" },
    { accept: "image/jpeg;q=0, image/png;q=0", type: "image/jpeg" },
  ];

  it("serves an opaque image as WebP or JPEG by Accept (q-values respected), on both paths", async () => {
    const { user, auth } = await t.userWithToken();
    const up = await upload(auth, await imagePart(await makeImage("jpeg", 900, 600), "image/jpeg"));
    expect(up.statusCode, up.body).toBe(200);
    const row = await storedImage(user.id);
    expect(row).toMatchObject({ content_type: "image/webp", fallback_content_type: "image/jpeg" });
    const etags = new Map<string, string>();
    for (const url of [URL_SELF, urlOf(user.id)]) {
      for (const { accept, type } of OPAQUE_CASES) {
        const res = await get(url, auth, accept === undefined ? {} : { accept });
        const served = await expectServed(res, type);
        expect([served.width, served.height], `${accept}`).toEqual([512, 341]);
        // What is served is what the upload stored: nothing is encoded per request.
        const stored = type === "image/webp" ? row?.content : row?.fallback_content;
        expect(res.rawPayload.equals(Buffer.from(stored as Uint8Array)), `${accept}`).toBe(true);
        etags.set(type, res.headers.etag as string);
      }
    }
    expect(etags.size).toBe(2);
    expect(etags.get("image/webp")).not.toBe(etags.get("image/jpeg"));
  });

  it("serves a transparent image's fallback as PNG, keeping the alpha", async () => {
    const { user, auth } = await t.userWithToken();
    const png = await makeImage("png", 300, 200, { alpha: true });
    expect((await upload(auth, await imagePart(png))).statusCode).toBe(200);
    for (const url of [URL_SELF, urlOf(user.id)]) {
      for (const accept of [undefined, "*/*", "image/png, image/jpeg", "image/webp;q=0, image/*"]) {
        const res = await get(url, auth, accept === undefined ? {} : { accept });
        const served = await expectServed(res, "image/png");
        expect(served.hasAlpha).toBe(true);
      }
      const webp = await expectServed(await get(url, auth, { accept: "image/webp" }), "image/webp");
      expect(webp.hasAlpha).toBe(true);
    }
  });

  it("judges transparency by the pixels: an opaque alpha channel still gets JPEG", async () => {
    const { auth } = await t.userWithToken();
    const rgba = await sharp({
      create: { width: 40, height: 30, channels: 4, background: { r: 9, g: 99, b: 199, alpha: 1 } },
    })
      .png()
      .toBuffer();
    expect((await sharp(rgba).metadata()).hasAlpha).toBe(true);
    expect((await upload(auth, await imagePart(rgba))).statusCode).toBe(200);
    const served = await expectServed(await get(URL_SELF, auth), "image/jpeg");
    expect(served.hasAlpha).toBe(false);
  });

  it("answers 304 per variant: each ETag matches only the variant it names", async () => {
    const { user, auth } = await t.userWithToken();
    expect((await upload(auth, await imagePart(await makeImage("png", 64, 64)))).statusCode).toBe(
      200,
    );
    for (const url of [URL_SELF, urlOf(user.id)]) {
      const webpTag = (await get(url, auth, { accept: "image/webp" })).headers.etag as string;
      const jpegTag = (await get(url, auth, { accept: "image/jpeg" })).headers.etag as string;
      expect(webpTag).not.toBe(jpegTag);

      const webp304 = await get(url, auth, { accept: "image/webp", "if-none-match": webpTag });
      expect(webp304.statusCode).toBe(304);
      expect(webp304.headers.etag).toBe(webpTag);
      expect(webp304.rawPayload.length).toBe(0);
      const jpeg304 = await get(url, auth, { "if-none-match": `W/${jpegTag}` });
      expect(jpeg304.statusCode).toBe(304);
      expect(jpeg304.headers.etag).toBe(jpegTag);

      // A tag of the other variant is not a match: the bytes of the negotiated one come back.
      await expectServed(await get(url, auth, { "if-none-match": webpTag }), "image/jpeg");
      await expectServed(
        await get(url, auth, { accept: "image/webp", "if-none-match": jpegTag }),
        "image/webp",
      );
      const both = `${webpTag}, ${jpegTag}`;
      expect((await get(url, auth, { "if-none-match": both })).statusCode).toBe(304);
      expect(
        (await get(url, auth, { accept: "image/webp", "if-none-match": both })).statusCode,
      ).toBe(304);
    }
  });

  it("derives the fallback of an image stored as WebP alone once, on first need", async () => {
    const processor = createImageProcessor();
    for (const [alpha, fallbackType] of [
      [false, "image/jpeg"],
      [true, "image/png"],
    ] as const) {
      const { user, auth } = await t.userWithToken();
      const encoded = await processor.reencode(await makeImage("png", 120, 80, { alpha }));
      // As stored before fallbacks existed: WebP alone.
      await upsertProfileImage(t.db, {
        userId: user.id,
        width: encoded.width,
        height: encoded.height,
        primary: encoded.webp,
      });
      const webp = await expectServed(
        await get(URL_SELF, auth, { accept: "image/webp" }),
        "image/webp",
      );
      expect(webp.width).toBe(120);
      expect((await storedImage(user.id))?.fallback_content).toBeNull();

      // Concurrent first requests for the fallback: one stored fallback, the same bytes for all.
      const answers = await Promise.all(
        Array.from({ length: 6 }, (_, i) => get(i % 2 ? URL_SELF : urlOf(user.id), auth)),
      );
      for (const res of answers) await expectServed(res, fallbackType);
      const row = await storedImage(user.id);
      expect(row?.fallback_content_type).toBe(fallbackType);
      expect(new Set(answers.map((res) => res.headers.etag))).toEqual(
        new Set([`"${row?.fallback_etag}"`]),
      );
      expect(answers[0]?.rawPayload.equals(Buffer.from(row?.fallback_content as Uint8Array))).toBe(
        true,
      );
      // From now on it is read, not derived: 304 on its ETag.
      const again = await get(URL_SELF, auth, { "if-none-match": `"${row?.fallback_etag}"` });
      expect(again.statusCode).toBe(304);
    }
  });
});
