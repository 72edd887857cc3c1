import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { codeOf, makeImage } from "../helpers/image-fixtures.ts";
import { createTestApp, type TestApp } from "../helpers/test-app.ts";

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

describe("the native tRPC door", () => {
  it("uploads base64 and reads the same image the REST door serves", async () => {
    const { user, auth } = await t.userWithToken();
    const images = (await t.callerFor(user)).images;
    const jpeg = await makeImage("jpeg", 1024, 768, { exifDescription: "MARKER-123" });
    const uploaded = await images.uploadProfileImage({ imageBase64: jpeg.toString("base64") });
    expect(uploaded).toEqual({
      imageUrl: `${t.config.PUBLIC_URL}/api/users/${user.id}/profile/image`,
      uploadedAt: expect.any(String),
    });

    const mine = await images.getProfileImage({ accept: ["image/webp", "image/jpeg"] });
    expect(mine).toMatchObject({
      contentType: "image/webp",
      width: 512,
      height: 384,
      imageUrl: uploaded.imageUrl,
      uploadedAt: uploaded.uploadedAt,
    });
    const bytes = Buffer.from(mine.dataBase64 as string, "base64");
    expect(bytes.length).toBe(mine.byteSize);
    expect(bytes.includes("MARKER-123")).toBe(false);
    expect((await sharp(bytes).metadata()).format).toBe("webp");

    const rest = await t.app.inject({
      method: "GET",
      url: "/api/users/profile/image",
      headers: { ...auth, accept: "image/webp" },
    });
    expect(rest.headers.etag).toBe(mine.etag);
    expect(rest.rawPayload.equals(bytes)).toBe(true);

    const byId = await images.getUserProfileImage({
      id: user.id,
      withData: false,
      accept: ["image/webp"],
    });
    expect(byId.dataBase64).toBeUndefined();
    expect(byId.etag).toBe(mine.etag);
  });

  it("refuses what REST refuses, with the same codes", async () => {
    const user = await t.createUser();
    const images = (await t.callerFor(user)).images;
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>').toString("base64");
    expect(await codeOf(images.uploadProfileImage({ imageBase64: svg }))).toBe(
      "UNSUPPORTED_MEDIA_TYPE",
    );
    const big = Buffer.alloc(5 * 1024 * 1024 + 1).toString("base64");
    expect(await codeOf(images.uploadProfileImage({ imageBase64: big }))).toBe("PAYLOAD_TOO_LARGE");
    expect(await codeOf(images.uploadProfileImage({ imageBase64: "not base64!" }))).toBe(
      "VALIDATION_ERROR",
    );
    expect(
      await codeOf(images.uploadProfileImage({ imageBase64: "iVBO", extra: 1 } as never)),
    ).toBe("VALIDATION_ERROR");
    expect(await codeOf(images.getProfileImage())).toBe("IMAGE_NOT_FOUND");
    expect(await codeOf(images.deleteProfileImage())).toBe("IMAGE_NOT_FOUND");
    const anonymous = (await t.callerFor()).images;
    expect(await codeOf(anonymous.getProfileImage())).toBe("UNAUTHENTICATED");
    expect(await codeOf(anonymous.uploadProfileImage({ imageBase64: svg }))).toBe(
      "UNAUTHENTICATED",
    );
  });

  it("hides the image of a user the caller may not see (USER_NOT_FOUND)", async () => {
    const owner = await t.userWithToken();
    const png = await makeImage("png", 10, 10);
    const ownerImages = (await t.callerFor(owner.user)).images;
    await ownerImages.uploadProfileImage({ imageBase64: png.toString("base64") });
    const stranger = (await t.callerFor(await t.createUser())).images;
    expect(await codeOf(stranger.getUserProfileImage({ id: owner.user.id }))).toBe(
      "USER_NOT_FOUND",
    );
    const admin = (await t.callerFor(await t.createUser({ role: "Admin" }))).images;
    expect((await admin.getUserProfileImage({ id: owner.user.id })).width).toBe(10);
  });

  it("deletes", async () => {
    const user = await t.createUser();
    const images = (await t.callerFor(user)).images;
    await images.uploadProfileImage({
      imageBase64: (await makeImage("webp", 10, 10)).toString("base64"),
    });
    expect(await images.deleteProfileImage()).toEqual({
      success: true,
      message: "Profile image deleted",
    });
    expect(await codeOf(images.getProfileImage({ withData: false }))).toBe("IMAGE_NOT_FOUND");
  });

  it("returns the fallback unless WebP is listed in `accept`: JPEG, or PNG with transparency", async () => {
    for (const [alpha, fallbackType] of [
      [false, "image/jpeg"],
      [true, "image/png"],
    ] as const) {
      const { user, auth } = await t.userWithToken();
      const images = (await t.callerFor(user)).images;
      const png = await makeImage("png", 200, 100, { alpha });
      await images.uploadProfileImage({ imageBase64: png.toString("base64") });
      const cases = [
        { accept: undefined, type: fallbackType },
        { accept: [], type: fallbackType },
        { accept: ["image/jpeg", "image/png"] as const, type: fallbackType },
        { accept: ["image/webp"] as const, type: "image/webp" },
        { accept: ["image/png", "image/webp"] as const, type: "image/webp" },
      ];
      const etags = new Set<string>();
      for (const { accept, type } of cases) {
        const input = accept === undefined ? {} : { accept: [...accept] };
        for (const got of [
          await images.getProfileImage(input),
          await images.getUserProfileImage({ id: user.id, ...input }),
        ]) {
          expect(got.contentType).toBe(type);
          const bytes = Buffer.from(got.dataBase64 as string, "base64");
          const meta = await sharp(bytes).metadata();
          expect(`image/${meta.format}`).toBe(type);
          expect(meta.hasAlpha).toBe(alpha);
          expect(bytes.length).toBe(got.byteSize);
          etags.add(got.etag);
          // The same variant, the same ETag and bytes as the REST door.
          const rest = await t.app.inject({
            method: "GET",
            url: `/api/users/${user.id}/profile/image`,
            headers: { ...auth, accept: type },
          });
          expect(rest.headers["content-type"]).toBe(type);
          expect(rest.headers.etag).toBe(got.etag);
          expect(rest.rawPayload.equals(bytes)).toBe(true);
        }
      }
      expect(etags.size).toBe(2);
    }
  });

  it("refuses an `accept` entry that is not an image type it serves", async () => {
    const user = await t.createUser();
    const images = (await t.callerFor(user)).images;
    expect(await codeOf(images.getProfileImage({ accept: ["image/gif"] } as never))).toBe(
      "VALIDATION_ERROR",
    );
  });
});
