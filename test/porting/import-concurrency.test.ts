import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, type TestApp } from "../helpers/test-app.ts";
import { type ImportJobBody, ndjson, uploadImport, waitForImport } from "./import-helpers.ts";

let t: TestApp;
let root: Awaited<ReturnType<TestApp["userWithToken"]>>;
let orgId: number;
beforeAll(async () => {
  t = await createTestApp();
  root = await t.userWithToken({ role: "AppAdmin" });
  const org = await t.db
    .insertInto("organizations")
    .values({ name: "Race Org" })
    .returning("id")
    .executeTakeFirstOrThrow();
  orgId = org.id;
});
afterAll(() => t.close());

// PGlite runs one transaction at a time, so its rounds race less and cost more: fewer there.
const ROUNDS = Number(process.env.ROUNDS ?? (process.env.DATABASE_URL ? 5 : 2));
const ROWS = 600; // more than one batch

/** Rows `from`…`to` of a round, each with a membership (the whole row or nothing). */
const rows = (round: number, from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => ({
    email: `race-${round}-${from + i}@example.com`,
    username: `race-${round}-${from + i}`,
    firstName: "Race",
    lastName: String(from + i),
    memberships: [{ organizationId: orgId, role: "Member" }],
  }));

describe("two imports of overlapping files at once", () => {
  it("store every user once, each with its membership, and reject the rest as taken", {
    timeout: 240_000,
  }, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      // Both files hold rows 200…600; the first adds 1…199, the second 601…800 (in reverse order).
      const first = rows(round, 1, ROWS);
      const second = rows(round, 200, ROWS + 200).reverse();
      const started = await Promise.all([
        uploadImport(t, root.auth, ndjson(first)),
        uploadImport(t, root.auth, ndjson(second)),
      ]);
      const jobs = (await Promise.all(
        started.map((job) => waitForImport(t, root.auth, job.jobId)),
      )) as [ImportJobBody, ImportJobBody];
      const overlap = ROWS - 200 + 1;
      const unique = ROWS + 200;
      for (const job of jobs) expect(job.status).toBe("succeeded");
      expect(jobs[0].importedRows + jobs[1].importedRows).toBe(unique);
      expect(jobs[0].rejectedRows + jobs[1].rejectedRows).toBe(overlap);
      for (const job of jobs) {
        for (const r of job.rejections) expect(["EMAIL_TAKEN", "USERNAME_TAKEN"]).toContain(r.code);
      }
      const stored = await t.db
        .selectFrom("users")
        .leftJoin("memberships", "memberships.user_id", "users.id")
        .select(["users.email", "memberships.organization_id"])
        .where("users.email", "like", `race-${round}-%`)
        .execute();
      expect(stored).toHaveLength(unique);
      expect(new Set(stored.map((s) => s.email)).size).toBe(unique);
      expect(stored.every((s) => s.organization_id === orgId)).toBe(true);
    }
  });
});
