import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { UserRow } from "../../db/database.ts";
import {
  deleteProfileImage,
  findProfileImage,
  upsertProfileImage,
} from "../../db/profile-images.ts";
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
  content,
  contentType: "image/webp",
  etag,
  width: 10,
  height: 20,
});

describe(`profile_images on ${process.env.DATABASE_URL ? "PostgreSQL" : "PGlite"}`, () => {
  it("round-trips bytea as a Buffer, byte for byte, from a Buffer or a Uint8Array", async () => {
    for (const content of [ALL_BYTES, new Uint8Array(ALL_BYTES)]) {
      const user = await t.createUser();
      const stored = await upsertProfileImage(t.db, image(user, content));
      expect(stored).toMatchObject({ userId: user.id, byteSize: ALL_BYTES.length });
      const found = await findProfileImage(t.db, user.id, { withContent: true });
      expect(Buffer.isBuffer(found?.content)).toBe(true);
      expect(found?.content?.equals(ALL_BYTES)).toBe(true);
      expect(found).toMatchObject({ contentType: "image/webp", etag: "etag-1", width: 10 });
    }
  });

  it("upserts in one statement: a second upload replaces the first", async () => {
    const user = await t.createUser();
    const first = await upsertProfileImage(t.db, image(user, Buffer.from("one")));
    const second = await upsertProfileImage(t.db, image(user, Buffer.from("second"), "etag-2"));
    expect(second.uploadedAt.getTime()).toBeGreaterThanOrEqual(first.uploadedAt.getTime());
    const found = await findProfileImage(t.db, user.id, { withContent: true });
    expect(found?.content?.toString()).toBe("second");
    expect(found).toMatchObject({ etag: "etag-2", byteSize: 6 });
  });

  it("skips the bytes when asked for metadata, or when the ETag is one the client has", async () => {
    const user = await t.createUser();
    await upsertProfileImage(t.db, image(user, ALL_BYTES, "abc"));
    expect((await findProfileImage(t.db, user.id))?.content).toBeUndefined();
    const known = await findProfileImage(t.db, user.id, {
      withContent: true,
      unlessEtagIn: ["zzz", "abc"],
    });
    expect(known).toMatchObject({ etag: "abc", content: undefined });
    const stale = await findProfileImage(t.db, user.id, {
      withContent: true,
      unlessEtagIn: ["zzz"],
    });
    expect(stale?.content?.equals(ALL_BYTES)).toBe(true);
  });

  it("deletes, and goes with its user (on delete cascade)", async () => {
    const user = await t.createUser();
    await upsertProfileImage(t.db, image(user, ALL_BYTES));
    expect(await deleteProfileImage(t.db, user.id)).toBe(true);
    expect(await deleteProfileImage(t.db, user.id)).toBe(false);
    await upsertProfileImage(t.db, image(user, ALL_BYTES));
    await t.db.deleteFrom("sessions").where("user_id", "=", user.id).execute();
    await t.db.deleteFrom("users").where("id", "=", user.id).execute();
    expect(await findProfileImage(t.db, user.id)).toBeUndefined();
  });
});
