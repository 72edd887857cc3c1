import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, type TestApp } from "../helpers/test-app.ts";
import { waitForImport } from "./import-helpers.ts";

// 100,000 rows on PostgreSQL; 5,000 on the embedded PGlite, whose single connection makes the
// full size take minutes on a shared machine (README, "Importing users", has the figures).
const ROWS = process.env.DATABASE_URL ? 100_000 : 5_000;
const BAD_LINES = new Set([7, 1234, ROWS / 2, ROWS - 3]);
const DUPLICATE_OF = new Map([
  [ROWS - 1, 10],
  [ROWS / 4, 3],
]);

let t: TestApp;
let root: Awaited<ReturnType<TestApp["userWithToken"]>>;
beforeAll(async () => {
  t = await createTestApp();
  root = await t.userWithToken({ role: "AppAdmin" });
});
afterAll(() => t.close());

/** The file, made a chunk at a time as the upload reads it (never whole in memory here either). */
function* file(): Generator<string> {
  // A hash made once for all rows: what is measured is the import, not hashing.
  const hash =
    "$pbkdf2-sha256$i=1000$c2FsdHNhbHRzYWx0c2FsdA$2lZtuqpKV9wGxxZr4rfQIO5V3cn3k5y+H0JQIZ3vWVY";
  let chunk = "";
  for (let line = 1; line <= ROWS; line++) {
    const n = DUPLICATE_OF.get(line) ?? line;
    const row = BAD_LINES.has(line)
      ? { email: `bulk-${n}@example`, username: `bulk-${n}`, firstName: "B", lastName: "L" }
      : {
          email: `bulk-${n}@example.com`,
          username: `bulk-${n}`,
          firstName: "Bulk",
          lastName: `No ${n}`,
          passwordHash: hash,
        };
    chunk += `${JSON.stringify(row)}\n`;
    if (chunk.length > 64 * 1024) {
      yield chunk;
      chunk = "";
    }
  }
  yield chunk;
}

describe(`importing ${ROWS} rows with a few bad ones`, () => {
  it("stores all the good rows and reports exactly the bad ones", {
    timeout: 300_000,
  }, async () => {
    const started = performance.now();
    const { Readable } = await import("node:stream");
    const res = await t.app.inject({
      method: "POST",
      url: "/api/users/import",
      headers: { ...root.auth, "content-type": "application/x-ndjson" },
      payload: Readable.from(file()),
    });
    expect(res.statusCode, res.body).toBe(202);
    const uploaded = performance.now();
    const job = await waitForImport(t, root.auth, res.json().jobId, 280_000);
    const finished = performance.now();
    console.log(
      `${ROWS} rows: upload and staging ${Math.round(uploaded - started)} ms, import ${Math.round(finished - uploaded)} ms`,
    );
    const expected = [...BAD_LINES, ...DUPLICATE_OF.keys()].sort((a, b) => a - b);
    expect(job).toMatchObject({
      status: "succeeded",
      totalRows: ROWS,
      processedRows: ROWS,
      importedRows: ROWS - expected.length,
      rejectedRows: expected.length,
    });
    expect(job.rejections.map((r) => r.line)).toEqual(expected);
    for (const rejection of job.rejections) {
      expect(rejection.code).toBe(
        BAD_LINES.has(rejection.line) ? "VALIDATION_ERROR" : "EMAIL_TAKEN",
      );
    }
    const count = await t.db
      .selectFrom("users")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where("email", "like", "bulk-%")
      .executeTakeFirstOrThrow();
    expect(Number(count.n)).toBe(ROWS - expected.length);
    // Each stored user emitted its user.created, once, in its batch's transaction.
    const events = await t.db
      .selectFrom("events")
      .select([
        (eb) => eb.fn.countAll<number>().as("n"),
        (eb) => eb.fn.count<number>("subject").distinct().as("subjects"),
      ])
      .where("type", "=", "user.created")
      .where(sql<string>`data->>'email'`, "like", "bulk-%")
      .executeTakeFirstOrThrow();
    expect(Number(events.n)).toBe(ROWS - expected.length);
    expect(Number(events.subjects)).toBe(ROWS - expected.length);
  });
});
