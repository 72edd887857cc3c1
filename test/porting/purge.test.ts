import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPurging } from "../../server/accounts/purge.ts";
import { createTestApp, type TestApp } from "../helpers/test-app.ts";

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ PURGE_DELETED_AFTER_DAYS: "30" });
});
afterAll(() => t.close());

async function deletedUser(daysAgo: number) {
  const user = await t.createUser();
  await t.login(user);
  const org = await t.db
    .insertInto("organizations")
    .values({ name: `Org ${user.id}` })
    .returning("id")
    .executeTakeFirstOrThrow();
  await t.db
    .insertInto("memberships")
    .values({ user_id: user.id, organization_id: org.id, role: "Member" })
    .execute();
  await t.db
    .insertInto("mail_outbox")
    .values({
      user_id: user.id,
      kind: "verification",
      recipient: user.email,
      payload: null,
      message_id: `<${user.id}@x>`,
    })
    .execute();
  await t.db
    .insertInto("profile_images")
    .values({
      user_id: user.id,
      content: new Uint8Array([1, 2, 3]),
      content_type: "image/webp",
      etag: "e",
      width: 1,
      height: 1,
      byte_size: 3,
    })
    .execute();
  await t.db
    .updateTable("users")
    .set({ status: "deleted", deleted_at: sql`now() - make_interval(days => ${daysAgo})` })
    .where("id", "=", user.id)
    .execute();
  return user;
}

const left = async (
  table: "users" | "sessions" | "memberships" | "mail_outbox" | "profile_images",
  ids: number[],
) => {
  const column = table === "users" ? "id" : "user_id";
  const rows = await t.db.selectFrom(table).select(column).where(column, "in", ids).execute();
  return rows.length;
};

describe("purging users deleted long ago", () => {
  it("deletes them for good with everything that hangs on them; recent ones stay", async () => {
    const old = await Promise.all([deletedUser(40), deletedUser(31), deletedUser(365)]);
    const recent = await deletedUser(5);
    const live = await t.createUser();
    const ids = old.map((u) => u.id);
    // Two processes purging at once take different users: none twice, none left.
    const other = startPurging({ db: t.db, afterDays: 30, log: t.deps.log });
    const counts = await Promise.all([t.deps.purge.runOnce(), other.runOnce()]);
    await other.stop();
    expect(counts[0] + counts[1]).toBe(3);
    for (const table of [
      "users",
      "sessions",
      "memberships",
      "mail_outbox",
      "profile_images",
    ] as const) {
      expect(await left(table, ids), table).toBe(0);
      expect(await left(table, [recent.id]), table).toBeGreaterThan(0);
    }
    expect(await left("users", [live.id])).toBe(1);
    await expect(t.deps.purge.runOnce()).resolves.toBe(0);
  });
});
