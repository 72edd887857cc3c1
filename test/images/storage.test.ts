import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  deleteProfileImage,
  findProfileImageMeta,
  readVariantContent,
  storeDerivedFallback,
  upsertProfileImage,
} from "../../db/profile-images.ts";
import type { UserRow } from "../../db/users.ts";
import { createTestApp, type TestApp } from "../helpers/test-app.ts";

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

/** Every byte value, and a NUL and 0xff at the ends: what bytea must give back untouched. */
const ALL_BYTES = Buffer.from([0, ...Array.from({ length: 256 }, (_, i) => i), 255, 0]);

const image = (user: UserRow, content: Uint8Array, etag = "etag-1") => ({
  userId: user.id,
  primary: { content, contentType: "image/webp", etag },
  fallback: {
    content: Buffer.from(content).reverse(),
    contentType: "image/jpeg",
    etag: `${etag}-j`,
  },
  width: 10,
  height: 20,
});

/** The facts and the primary variant's bytes, as findProfileImage used to answer. */
async function findWithContent(userId: number) {
  const meta = await findProfileImageMeta(t.db, userId);
  return (
    meta && {
      ...meta,
      content: await readVariantContent(t.db, userId, "primary", meta.primary.etag),
    }
  );
}

describe(`profile_images on ${process.env.DATABASE_URL ? "PostgreSQL" : "PGlite"}`, () => {
  it("round-trips bytea as a Buffer, byte for byte, from a Buffer or a Uint8Array", async () => {
    for (const content of [ALL_BYTES, new Uint8Array(ALL_BYTES)]) {
      const user = await t.createUser();
      const stored = await upsertProfileImage(t.db, image(user, content));
      expect(stored).toMatchObject({ userId: user.id, primary: { byteSize: ALL_BYTES.length } });
      const found = await findWithContent(user.id);
      expect(Buffer.isBuffer(found?.content)).toBe(true);
      expect(found?.content?.equals(ALL_BYTES)).toBe(true);
      expect(found).toMatchObject({
        primary: { contentType: "image/webp", etag: "etag-1" },
        fallback: { contentType: "image/jpeg", etag: "etag-1-j", byteSize: ALL_BYTES.length },
        width: 10,
      });
      const fallback = await readVariantContent(t.db, user.id, "fallback", "etag-1-j");
      expect(fallback?.equals(Buffer.from(ALL_BYTES).reverse())).toBe(true);
    }
  });

  it("upserts in one statement: a second upload replaces the first", async () => {
    const user = await t.createUser();
    const first = await upsertProfileImage(t.db, image(user, Buffer.from("one")));
    const second = await upsertProfileImage(t.db, image(user, Buffer.from("second"), "etag-2"));
    expect(second.uploadedAt.getTime()).toBeGreaterThanOrEqual(first.uploadedAt.getTime());
    const found = await findWithContent(user.id);
    expect(found?.content?.toString()).toBe("second");
    expect(found).toMatchObject({ primary: { etag: "etag-2", byteSize: 6 } });
  });

  it("reads a variant's bytes only while its ETag is current", async () => {
    const user = await t.createUser();
    await upsertProfileImage(t.db, image(user, ALL_BYTES, "abc"));
    expect(await readVariantContent(t.db, user.id, "primary", "zzz")).toBeUndefined();
    expect(await readVariantContent(t.db, user.id, "fallback", "abc")).toBeUndefined();
    expect((await readVariantContent(t.db, user.id, "primary", "abc"))?.equals(ALL_BYTES)).toBe(
      true,
    );
  });

  it("stores a fallback derived later once, and only for the image it was derived from", async () => {
    const user = await t.createUser();
    const { fallback: _none, ...webpOnly } = image(user, ALL_BYTES, "old");
    await upsertProfileImage(t.db, webpOnly);
    expect((await findProfileImageMeta(t.db, user.id))?.fallback).toBeUndefined();
    const derived = { content: Buffer.from("png"), contentType: "image/png", etag: "p1" };
    await storeDerivedFallback(t.db, user.id, "stale", derived);
    expect((await findProfileImageMeta(t.db, user.id))?.fallback).toBeUndefined();
    await storeDerivedFallback(t.db, user.id, "old", derived);
    await storeDerivedFallback(t.db, user.id, "old", { ...derived, etag: "p2" });
    expect((await findProfileImageMeta(t.db, user.id))?.fallback).toEqual({
      contentType: "image/png",
      etag: "p1",
      byteSize: 3,
    });
  });

  it("deletes, and goes with its user (on delete cascade)", async () => {
    const user = await t.createUser();
    await upsertProfileImage(t.db, image(user, ALL_BYTES));
    expect(await deleteProfileImage(t.db, user.id)).toBe(true);
    expect(await deleteProfileImage(t.db, user.id)).toBe(false);
    await upsertProfileImage(t.db, image(user, ALL_BYTES));
    await t.db.deleteFrom("sessions").where("user_id", "=", user.id).execute();
    await t.db.deleteFrom("users").where("id", "=", user.id).execute();
    expect(await findProfileImageMeta(t.db, user.id)).toBeUndefined();
  });
});
