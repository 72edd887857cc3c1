import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findImportJob } from "../../db/imports.ts";
import { expectError } from "../helpers/expect-error.ts";
import { createTestApp, type TestApp } from "../helpers/test-app.ts";
import { FOREIGN_FORMATS, foreignHash } from "./hash-fixtures.ts";
import { ndjson, person, uploadImport, waitForImport } from "./import-helpers.ts";

let t: TestApp;
let root: Awaited<ReturnType<TestApp["userWithToken"]>>;
beforeAll(async () => {
  t = await createTestApp({ IMPORT_MAX_BYTES: "200000" });
  root = await t.userWithToken({ role: "AppAdmin" });
});
afterAll(() => t.close());

const PASSWORD = "moved-in-lantern-orchard-4821";

const usersByEmail = (emails: string[]) =>
  t.db
    .selectFrom("users")
    .select(["id", "email", "status", "password_hash"])
    .where("email", "in", emails)
    .execute();

describe("importing users with the hashes they had", () => {
  it("signs in as users imported with each format, and upgrades each hash to argon2id", async () => {
    const rows = await Promise.all(
      FOREIGN_FORMATS.map(async (format) =>
        person({ passwordHash: await foreignHash(format, PASSWORD), emailVerified: true }),
      ),
    );
    const started = await uploadImport(t, root.auth, ndjson(rows));
    const job = await waitForImport(t, root.auth, started.jobId);
    expect(job).toMatchObject({
      status: "succeeded",
      totalRows: 5,
      importedRows: 5,
      rejectedRows: 0,
    });
    for (const row of rows) {
      const login = await t.app.inject({
        method: "POST",
        url: "/api/auth/token",
        payload: { email: row.email, password: PASSWORD },
      });
      expect(login.statusCode, login.body).toBe(200);
      const wrong = await t.app.inject({
        method: "POST",
        url: "/api/auth/token",
        payload: { email: row.email, password: `${PASSWORD}x` },
      });
      expect(wrong.statusCode).toBe(401);
    }
    const stored = await usersByEmail(rows.map((r) => r.email));
    expect(stored).toHaveLength(5);
    for (const user of stored) {
      expect(user.status).toBe("active");
      expect(user.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    }
  });
});

describe("rows", () => {
  it("reports exactly the bad and duplicate rows, by line, and stores the rest whole", async () => {
    const taken = await t.createUser();
    const org = await t.db
      .insertInto("organizations")
      .values({ name: "Moved Org" })
      .returning("id")
      .executeTakeFirstOrThrow();
    const a = person({ memberships: [{ organizationId: org.id, role: "Admin" }] });
    const lines = [
      JSON.stringify(a), // 1
      JSON.stringify(person({ email: a.email.toUpperCase() })), // 2: same email as line 1
      JSON.stringify(person({ username: a.username })), // 3: same username as line 1
      JSON.stringify(person({ email: taken.email })), // 4: taken in the database
      JSON.stringify(person({ email: "not an email" })), // 5
      "{not json", // 6
      "", // 7: blank, skipped
      JSON.stringify(
        person({ passwordHash: "$2b$14$abcdefghijklmnopqrstuu5ZuhjYq6Qy0cFjH5a1NnnYYBAHCr7Ea" }),
      ), // 8: cost too high
      JSON.stringify(person({ memberships: [{ organizationId: 999999, role: "Member" }] })), // 9
      JSON.stringify(person({ role: "AppAdmin", extra: 1 })), // 10: unknown field
      JSON.stringify(person({ firstName: "x".repeat(20_000) })), // 11: longer than a row may be
      JSON.stringify(person()), // 12: fine, invited
    ];
    const started = await uploadImport(t, root.auth, lines.join("\n"));
    const job = await waitForImport(t, root.auth, started.jobId);
    expect(job).toMatchObject({
      status: "succeeded",
      totalRows: 11,
      importedRows: 2,
      rejectedRows: 9,
    });
    expect(job.rejections.map((r) => [r.line, r.code])).toEqual([
      [2, "EMAIL_TAKEN"],
      [3, "USERNAME_TAKEN"],
      [4, "EMAIL_TAKEN"],
      [5, "VALIDATION_ERROR"],
      [6, "VALIDATION_ERROR"],
      [8, "VALIDATION_ERROR"],
      [9, "NOT_FOUND"],
      [10, "VALIDATION_ERROR"],
      [11, "VALIDATION_ERROR"],
    ]);
    expect(job.rejections[0]?.reason).toMatch(/line 1 of this file/);
    const [stored] = await usersByEmail([a.email]);
    expect(stored?.status).toBe("invited");
    const membership = await t.db
      .selectFrom("memberships")
      .selectAll()
      .where("user_id", "=", stored?.id ?? 0)
      .execute();
    expect(membership).toMatchObject([{ organization_id: org.id, role: "Admin" }]);
    // Invited users get their invitation, through the outbox, with the row.
    const mail = await t.db
      .selectFrom("mail_outbox")
      .select(["kind", "recipient"])
      .where("user_id", "=", stored?.id ?? 0)
      .execute();
    expect(mail).toEqual([{ kind: "invitation", recipient: a.email }]);
    const audit = await t.db
      .selectFrom("audit_log")
      .select(["actor_id", "action"])
      .where("target_user_id", "=", stored?.id ?? 0)
      .execute();
    expect(audit).toEqual([{ actor_id: root.user.id, action: "user.import" }]);
    // Only the rejected rows stay staged, without their data.
    const staged = await t.db
      .selectFrom("import_rows")
      .select(["data"])
      .where("job_id", "=", job.jobId)
      .execute();
    expect(staged).toHaveLength(9);
    expect(staged.every((row) => row.data === null)).toBe(true);
  });

  it("reads CSV with quotes, line breaks in fields and memberships (native tRPC door)", async () => {
    const org = await t.db
      .insertInto("organizations")
      .values({ name: "CSV Org" })
      .returning("id")
      .executeTakeFirstOrThrow();
    const one = person();
    const two = person();
    const csv = [
      "email,username,firstName,lastName,emailVerified,memberships",
      `${one.email},${one.username},"Ada, Countess","Love""lace",true,${org.id}:Member`,
      `${two.email},${two.username},"Multi\nLine",Two,false,`,
      "bad,row",
    ].join("\r\n");
    const caller = await t.callerFor(root.user);
    const started = await caller.users.importUsers({ format: "csv", content: csv });
    expect(started.status).toBe("queued");
    const job = await waitForImport(t, root.auth, started.jobId);
    expect(job).toMatchObject({
      status: "succeeded",
      totalRows: 3,
      importedRows: 2,
      rejectedRows: 1,
    });
    expect(job.rejections).toMatchObject([{ line: 5, code: "VALIDATION_ERROR" }]);
    const stored = await t.db
      .selectFrom("users")
      .select(["first_name", "last_name", "email_verified"])
      .where("email", "in", [one.email, two.email])
      .orderBy("id")
      .execute();
    expect(stored).toEqual([
      { first_name: "Ada, Countess", last_name: 'Love"lace', email_verified: true },
      { first_name: "Multi\nLine", last_name: "Two", email_verified: false },
    ]);
    await expect(caller.users.importStatus({ jobId: job.jobId })).resolves.toMatchObject({
      importedRows: 2,
    });
  });

  it("a dry run reports what an import would, and writes no user", async () => {
    const taken = await t.createUser();
    const rows = [person(), person({ email: taken.email }), person()];
    const before = await t.db
      .selectFrom("users")
      .select(t.db.fn.countAll().as("n"))
      .executeTakeFirstOrThrow();
    const started = await uploadImport(t, root.auth, ndjson(rows), { dryRun: true });
    const job = await waitForImport(t, root.auth, started.jobId);
    expect(job).toMatchObject({
      status: "succeeded",
      dryRun: true,
      importedRows: 2,
      rejectedRows: 1,
    });
    expect(job.rejections).toMatchObject([{ line: 2, code: "EMAIL_TAKEN" }]);
    const after = await t.db
      .selectFrom("users")
      .select(t.db.fn.countAll().as("n"))
      .executeTakeFirstOrThrow();
    expect(after.n).toBe(before.n);
    const outbox = await t.db
      .selectFrom("mail_outbox")
      .select("id")
      .where(
        "recipient",
        "in",
        rows.map((r) => r.email),
      )
      .execute();
    expect(outbox).toHaveLength(0);
  });
});

describe("limits and permissions", () => {
  it("refuses non-AppAdmins (403) and anonymous callers (401) before reading the body", async () => {
    const admin = await t.userWithToken({ role: "Admin" });
    const asAdmin = await t.app.inject({
      method: "POST",
      url: "/api/users/import",
      headers: { ...admin.auth, "content-type": "application/x-ndjson" },
      payload: ndjson([person()]),
    });
    expectError(asAdmin, 403, "UNAUTHORIZED");
    const anonymous = await t.app.inject({
      method: "POST",
      url: "/api/users/import",
      headers: { "content-type": "application/x-ndjson" },
      payload: ndjson([person()]),
    });
    expectError(anonymous, 401, "UNAUTHENTICATED");
    const status = await t.app.inject({
      method: "GET",
      url: "/api/users/import/1",
      headers: admin.auth,
    });
    expectError(status, 403, "UNAUTHORIZED");
  });

  it("answers 413 past IMPORT_MAX_BYTES and fails the job; 415 for another type; 404 for no job", async () => {
    const big = ndjson(Array.from({ length: 2000 }, () => person()));
    const res = await t.app.inject({
      method: "POST",
      url: "/api/users/import",
      headers: { ...root.auth, "content-type": "application/x-ndjson" },
      payload: big,
    });
    expectError(res, 413, "PAYLOAD_TOO_LARGE");
    const failed = await t.db
      .selectFrom("import_jobs")
      .selectAll()
      .orderBy("id", "desc")
      .executeTakeFirstOrThrow();
    expect(failed.status).toBe("failed");
    const left = await t.db
      .selectFrom("import_rows")
      .select("line")
      .where("job_id", "=", failed.id)
      .execute();
    expect(left).toHaveLength(0);
    const wrongType = await t.app.inject({
      method: "POST",
      url: "/api/users/import",
      headers: { ...root.auth, "content-type": "text/plain" },
      payload: "x",
    });
    expect(wrongType.statusCode).toBe(415);
    const none = await t.app.inject({
      method: "GET",
      url: "/api/users/import/99999",
      headers: root.auth,
    });
    expectError(none, 404, "NOT_FOUND");
  });
});

describe("a job outlives its process", () => {
  it("resumes a job left running by a dead process where its last batch ended", async () => {
    const rows = [person(), person(), person()];
    const started = await uploadImport(t, root.auth, ndjson(rows));
    await waitForImport(t, root.auth, started.jobId);
    // Another job, staged and left 'running' by a process that died before any batch.
    const orphan = [person(), person()];
    const caller = await t.callerFor(root.user);
    await t.deps.imports.close(); // this process stops running jobs, as a dying one would
    const queued = await caller.users.importUsers({ format: "ndjson", content: ndjson(orphan) });
    await t.db
      .updateTable("import_jobs")
      .set({ status: "running", heartbeat_at: new Date(Date.now() - 5 * 60_000) })
      .where("id", "=", queued.jobId)
      .execute();
    const { createImportRunner } = await import("../../server/porting/import-runner.ts");
    const survivor = createImportRunner({ db: t.db, config: t.config, log: t.deps.log });
    await survivor.sweep();
    await survivor.close();
    const job = await findImportJob(t.db, queued.jobId);
    expect(job).toMatchObject({ status: "succeeded", imported_rows: 2 });
    // An upload whose request died is failed, not resumed.
    const receiving = await t.db
      .insertInto("import_jobs")
      .values({
        format: "ndjson",
        dry_run: false,
        status: "receiving",
        heartbeat_at: new Date(Date.now() - 5 * 60_000),
      })
      .returning("id")
      .executeTakeFirstOrThrow();
    const again = createImportRunner({ db: t.db, config: t.config, log: t.deps.log });
    await again.sweep();
    await again.close();
    expect(await findImportJob(t.db, receiving.id)).toMatchObject({ status: "failed" });
  });
});
