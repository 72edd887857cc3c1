import type { LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import type { UserRow } from "../../db/users.ts";
import { ZSuccess } from "../../routers/shared-schema.ts";
import { ZUser } from "../../routers/users/user-schema.ts";
import { ZApiErrorBody } from "../../server/errors/api-errors.ts";
import { expectError, SECRETS } from "../helpers/expect-error.ts";
import { createTestApp, PASSWORD, type TestApp } from "../helpers/test-app.ts";

let t: TestApp;
let admin: Awaited<ReturnType<TestApp["userWithToken"]>>;
beforeAll(async () => {
  t = await createTestApp();
  admin = await t.userWithToken({ role: "Admin" });
});
afterAll(() => t.close());

const NEW_PASSWORD = "copper-meadow-silent-83-falcon";
const ZUserStrict = ZUser.strict();
const ZList = z.strictObject({
  value: z.array(ZUserStrict),
  count: z.number().int().nonnegative(),
  nextLink: z.string().optional(),
});

type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
const call = (method: Method, url: string, payload?: object, headers = admin.auth) =>
  t.app.inject({ method, url, headers, ...(payload && { payload }) });

function ok(res: LightMyRequestResponse, status = 200) {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.body).not.toMatch(SECRETS);
  return res.json();
}

const userRow = (id: number) =>
  t.db.selectFrom("users").selectAll().where("id", "=", id).executeTakeFirstOrThrow();
const mailsOf = (userId: number) =>
  t.db
    .selectFrom("mail_outbox")
    .select(["kind", "recipient"])
    .where("user_id", "=", userId)
    .orderBy("id")
    .execute();
const liveTokens = (userId: number, kind: string) =>
  t.db
    .selectFrom("email_tokens")
    .select(["id", "token_hash"])
    .where("user_id", "=", userId)
    .where("kind", "=", kind as never)
    .where("used_at", "is", null)
    .execute();
const passwordLogin = (email: string, password: string) =>
  t.app.inject({ method: "POST", url: "/api/auth/token", payload: { email, password } });

let seq = 0;
const unique = (prefix: string) => `${prefix}${++seq}${Date.now().toString(36)}`;

describe("POST /api/users (create)", () => {
  it("creates an invited user (201) and queues the invitation mail", async () => {
    const email = `${unique("created")}@example.com`;
    const res = await call("POST", "/api/users", {
      email,
      firstName: "  Cre  ",
      lastName: "Ated",
      username: "Created.Person",
    });
    const user = ZUserStrict.parse(ok(res, 201));
    expect(user).toMatchObject({
      email,
      username: "created.person",
      firstName: "Cre",
      lastName: "Ated",
      status: "invited",
      role: "User",
      emailVerified: false,
      lastLoginAt: null,
    });
    expect(await mailsOf(user.id)).toEqual([{ kind: "invitation", recipient: email }]);
    expect(await liveTokens(user.id, "invitation")).toHaveLength(1);
    expect((await userRow(user.id)).password_hash).toBeNull();
  });

  it("derives a username from the email when none is given", async () => {
    const local = unique("derived");
    const res = await call("POST", "/api/users", {
      email: `${local}@example.com`,
      firstName: "D",
      lastName: "E",
    });
    expect(ok(res, 201).username).toBe(local.toLowerCase());
  });

  it("refuses a taken email (any case) with 409 EMAIL_TAKEN and a taken username with USERNAME_TAKEN", async () => {
    const existing = await t.createUser({ username: unique("Taken.") });
    expectError(
      await call("POST", "/api/users", {
        email: existing.email.toUpperCase(),
        firstName: "X",
        lastName: "Y",
      }),
      409,
      "EMAIL_TAKEN",
    );
    expectError(
      await call("POST", "/api/users", {
        email: `${unique("other")}@example.com`,
        firstName: "X",
        lastName: "Y",
        username: existing.username.toLowerCase(),
      }),
      409,
      "USERNAME_TAKEN",
    );
  });

  it("checks an optional temporary password against the policy", async () => {
    const res = await call("POST", "/api/users", {
      email: `${unique("weak")}@example.com`,
      firstName: "W",
      lastName: "K",
      password: "passwordpassword",
    });
    expectError(res, 400, "WEAK_PASSWORD");
  });

  it("works through the tRPC caller", async () => {
    const caller = await t.callerFor(admin.user);
    const email = `${unique("trpc-create")}@example.com`;
    const user = await caller.users.create({ email, firstName: "T", lastName: "C" });
    expect(ZUserStrict.parse(user).status).toBe("invited");
    await expect(
      caller.users.create({ email, firstName: "T", lastName: "C" }),
    ).rejects.toMatchObject({ apiCode: "EMAIL_TAKEN", code: "CONFLICT" });
  });
});

describe("PATCH /api/users/{id} (edit)", () => {
  it("changes names and username, trimmed", async () => {
    const target = await t.createUser();
    const username = unique("renamed-");
    const res = await call("PATCH", `/api/users/${target.id}`, {
      firstName: " New ",
      lastName: "Name ",
      username: username.toUpperCase(),
    });
    const user = ZUserStrict.parse(ok(res));
    expect(user).toMatchObject({ firstName: "New", lastName: "Name", username });
    expect(Date.parse(user.updatedAt)).toBeGreaterThanOrEqual(target.updated_at.getTime());
  });

  it("refuses a username taken in another case with 409 USERNAME_TAKEN", async () => {
    const holder = await t.createUser({ username: unique("Mixed.Holder") });
    const target = await t.createUser();
    const res = await call("PATCH", `/api/users/${target.id}`, {
      username: holder.username.toLowerCase(),
    });
    expectError(res, 409, "USERNAME_TAKEN");
    expect((await userRow(target.id)).username).toBe(target.username);
  });

  it("suspends and re-activates", async () => {
    const target = await t.createUser();
    expect(ok(await call("PATCH", `/api/users/${target.id}`, { status: "suspended" })).status).toBe(
      "suspended",
    );
    expect((await passwordLogin(target.email, PASSWORD)).statusCode).toBe(401);
    expect(ok(await call("PATCH", `/api/users/${target.id}`, { status: "active" })).status).toBe(
      "active",
    );
    expect((await passwordLogin(target.email, PASSWORD)).statusCode).toBe(200);
  });

  it("answers 404 USER_NOT_FOUND for a missing user and 400 for a bad id", async () => {
    expectError(
      await call("PATCH", "/api/users/2147483000", { firstName: "X" }),
      404,
      "USER_NOT_FOUND",
    );
    expectError(await call("PATCH", "/api/users/abc", { firstName: "X" }), 400, "VALIDATION_ERROR");
    expectError(await call("PATCH", "/api/users/0", { firstName: "X" }), 400, "VALIDATION_ERROR");
  });

  it("refuses a status change of a deleted user (409)", async () => {
    const target = await t.createUser();
    ok(await call("DELETE", `/api/users/${target.id}`));
    expectError(
      await call("PATCH", `/api/users/${target.id}`, { status: "active" }),
      409,
      "CONFLICT",
    );
    expect((await userRow(target.id)).status).toBe("deleted");
  });

  it("works through the tRPC caller", async () => {
    const caller = await t.callerFor(admin.user);
    const target = await t.createUser();
    await expect(caller.users.edit({ id: target.id, lastName: "Via tRPC" })).resolves.toMatchObject(
      {
        lastName: "Via tRPC",
      },
    );
    await expect(caller.users.edit({ id: 2147483000, lastName: "X" })).rejects.toMatchObject({
      apiCode: "USER_NOT_FOUND",
    });
  });
});

describe("DELETE /api/users/{id} and POST /api/users/{id}/restore", () => {
  it("soft-deletes: status deleted, hidden from the default list, email and username free again", async () => {
    const target = await t.createUser({ username: unique("doomed.") });
    const res = await call("DELETE", `/api/users/${target.id}`);
    expect(ZSuccess.strict().parse(ok(res)).success).toBe(true);

    const row = await userRow(target.id);
    expect(row.status).toBe("deleted");
    expect(row.deleted_at).not.toBeNull();
    expect(ok(await call("GET", `/api/users/${target.id}`)).status).toBe("deleted");

    const list = ZList.parse(ok(await call("GET", "/api/users?$top=1000")));
    expect(list.value.map((u) => u.id)).not.toContain(target.id);
    const deleted = ZList.parse(
      ok(
        await call(
          "GET",
          `/api/users?$filter=${encodeURIComponent("status eq 'deleted'")}&$top=1000`,
        ),
      ),
    );
    expect(deleted.value.map((u) => u.id)).toContain(target.id);

    const signup = await t.app.inject({
      method: "POST",
      url: "/api/users/signup",
      payload: {
        email: target.email.toUpperCase(),
        password: PASSWORD,
        firstName: "Re",
        lastName: "Born",
        username: target.username,
      },
    });
    expect(signup.statusCode, signup.body).toBe(201);
    expect(signup.json().id).not.toBe(target.id);

    // DELETE is idempotent: the user is deleted, as asked.
    expect(ok(await call("DELETE", `/api/users/${target.id}`)).success).toBe(true);
  });

  it("restores to the status before deletion", async () => {
    for (const status of ["active", "suspended", "invited"] as const) {
      const target = await t.createUser({ status });
      ok(await call("DELETE", `/api/users/${target.id}`));
      const restored = ZUserStrict.parse(ok(await call("POST", `/api/users/${target.id}/restore`)));
      expect(restored.status).toBe(status);
      const row = await userRow(target.id);
      expect(row.deleted_at).toBeNull();
    }
    const active = await t.createUser();
    expectError(await call("POST", `/api/users/${active.id}/restore`), 409, "CONFLICT");
    expectError(await call("POST", "/api/users/2147483000/restore"), 404, "USER_NOT_FOUND");
  });

  it("a restored user can log in again", async () => {
    const target = await t.createUser();
    ok(await call("DELETE", `/api/users/${target.id}`));
    expect((await passwordLogin(target.email, PASSWORD)).statusCode).toBe(401);
    ok(await call("POST", `/api/users/${target.id}/restore`));
    expect((await passwordLogin(target.email, PASSWORD)).statusCode).toBe(200);
  });

  it("refuses a restore with 409 EMAIL_TAKEN when a newer account took the email", async () => {
    const target = await t.createUser();
    ok(await call("DELETE", `/api/users/${target.id}`));
    await t.createUser({ email: target.email.toUpperCase() });
    expectError(await call("POST", `/api/users/${target.id}/restore`), 409, "EMAIL_TAKEN");
    expect((await userRow(target.id)).status).toBe("deleted");
  });

  it("refuses a restore with 409 USERNAME_TAKEN when a newer account took the username", async () => {
    const target = await t.createUser({ username: unique("reused.") });
    ok(await call("DELETE", `/api/users/${target.id}`));
    await t.createUser({ username: target.username.toUpperCase() });
    expectError(await call("POST", `/api/users/${target.id}/restore`), 409, "USERNAME_TAKEN");
    expect((await userRow(target.id)).status).toBe("deleted");
  });

  it("works through the tRPC caller", async () => {
    const caller = await t.callerFor(admin.user);
    const target = await t.createUser({ status: "suspended" });
    await expect(caller.users.delete({ id: target.id })).resolves.toMatchObject({ success: true });
    await expect(caller.users.restore({ id: target.id })).resolves.toMatchObject({
      status: "suspended",
    });
    await expect(caller.users.restore({ id: target.id })).rejects.toMatchObject({
      apiCode: "CONFLICT",
    });
  });
});

describe("PUT /api/users/{id}/password (set password)", () => {
  it("sets the password: the new one logs in, the old one does not", async () => {
    const target = await t.createUser();
    const res = await call("PUT", `/api/users/${target.id}/password`, {
      newPassword: NEW_PASSWORD,
    });
    expect(ZSuccess.strict().parse(ok(res)).success).toBe(true);
    expect((await passwordLogin(target.email, NEW_PASSWORD)).statusCode).toBe(200);
    expect((await passwordLogin(target.email, PASSWORD)).statusCode).toBe(401);
    expect((await userRow(target.id)).password_hash).toMatch(
      /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/,
    );
  });

  it("applies the policy (WEAK_PASSWORD) and answers 404 for a missing user", async () => {
    const target = await t.createUser();
    expectError(
      await call("PUT", `/api/users/${target.id}/password`, { newPassword: "aaaaaaaaaaaaaaaa" }),
      400,
      "WEAK_PASSWORD",
    );
    expectError(
      await call("PUT", `/api/users/${target.id}/password`, {
        newPassword: `${target.username}-x`,
      }),
      400,
      "WEAK_PASSWORD",
    );
    expectError(
      await call("PUT", "/api/users/2147483000/password", { newPassword: NEW_PASSWORD }),
      404,
      "USER_NOT_FOUND",
    );
  });

  it("works through the tRPC caller", async () => {
    const caller = await t.callerFor(admin.user);
    const target = await t.createUser();
    await expect(
      caller.users.setPassword({ id: target.id, newPassword: NEW_PASSWORD }),
    ).resolves.toMatchObject({ success: true });
    await expect(
      caller.users.setPassword({ id: target.id, newPassword: "short" }),
    ).rejects.toMatchObject({ apiCode: "WEAK_PASSWORD" });
  });
});

describe("POST /api/users/{id}/invitation (reissue invitation)", () => {
  it("queues a new invitation and replaces the previous link", async () => {
    const created = ok(
      await call("POST", "/api/users", {
        email: `${unique("reinvite")}@example.com`,
        firstName: "R",
        lastName: "I",
      }),
      201,
    );
    const [before] = await liveTokens(created.id, "invitation");
    const res = await call("POST", `/api/users/${created.id}/invitation`);
    expect(ZSuccess.strict().parse(ok(res)).success).toBe(true);
    const after = await liveTokens(created.id, "invitation");
    expect(after).toHaveLength(1);
    expect(after[0]?.token_hash).not.toBe(before?.token_hash);
    expect((await mailsOf(created.id)).map((m) => m.kind)).toEqual(["invitation", "invitation"]);
  });

  it("answers 409 CONFLICT unless the user is invited", async () => {
    for (const status of ["active", "pending", "suspended"] as const) {
      const target = await t.createUser({ status });
      expectError(await call("POST", `/api/users/${target.id}/invitation`), 409, "CONFLICT");
      expect(await mailsOf(target.id)).toEqual([]);
    }
    expectError(await call("POST", "/api/users/2147483000/invitation"), 404, "USER_NOT_FOUND");
  });

  it("works through the tRPC caller", async () => {
    const caller = await t.callerFor(admin.user);
    const invited = await t.createUser({ status: "invited", emailVerified: false });
    await expect(caller.users.reissueInvitation({ id: invited.id })).resolves.toMatchObject({
      success: true,
    });
    const active = await t.createUser();
    await expect(caller.users.reissueInvitation({ id: active.id })).rejects.toMatchObject({
      apiCode: "CONFLICT",
    });
  });
});

describe("POST /api/users/{id}/verification (reissue verification)", () => {
  it("queues a verification mail for an unverified user", async () => {
    const target = await t.createUser({ status: "pending", emailVerified: false });
    const res = await call("POST", `/api/users/${target.id}/verification`);
    expect(ZSuccess.strict().parse(ok(res)).success).toBe(true);
    expect(await mailsOf(target.id)).toEqual([{ kind: "verification", recipient: target.email }]);
    expect(await liveTokens(target.id, "verification")).toHaveLength(1);
  });

  it("answers 409 CONFLICT when the email is already verified", async () => {
    const target = await t.createUser({ emailVerified: true });
    expectError(await call("POST", `/api/users/${target.id}/verification`), 409, "CONFLICT");
    expect(await mailsOf(target.id)).toEqual([]);
  });

  it("lets users ask for their own, through the tRPC caller", async () => {
    const self = await t.createUser({ status: "pending", emailVerified: false });
    const caller = await t.callerFor(self);
    await expect(caller.users.reissueVerification({ id: self.id })).resolves.toMatchObject({
      success: true,
    });
    const verified = await t.createUser();
    await expect(
      (await t.callerFor(verified)).users.reissueVerification({ id: verified.id }),
    ).rejects.toMatchObject({ apiCode: "CONFLICT" });
  });
});

describe("GET /api/users/{id} (by id or username)", () => {
  it("reads all digits as an id and anything else as a username (case-insensitively)", async () => {
    const target = await t.createUser({ username: unique("Lookup.") });
    const byId = ZUserStrict.parse(ok(await call("GET", `/api/users/${target.id}`)));
    expect(byId.id).toBe(target.id);
    const byName = ZUserStrict.parse(ok(await call("GET", `/api/users/${target.username}`)));
    expect(byName.id).toBe(target.id);
    const byUpper = ok(await call("GET", `/api/users/${target.username.toUpperCase()}`));
    expect(byUpper.id).toBe(target.id);
    // A username with digits and letters is a username, never an id.
    const digits = await t.createUser({ username: `${target.id}a` });
    expect(ok(await call("GET", `/api/users/${target.id}a`)).id).toBe(digits.id);
    expectError(await call("GET", "/api/users/2147483000"), 404, "USER_NOT_FOUND");
    expectError(await call("GET", "/api/users/nobody.here"), 404, "USER_NOT_FOUND");
  });

  it("works through the tRPC caller and natively", async () => {
    const target = await t.createUser();
    const caller = await t.callerFor(admin.user);
    await expect(caller.users.get({ id: String(target.id) })).resolves.toMatchObject({
      id: target.id,
    });
    await expect(caller.users.get({ id: target.username })).resolves.toMatchObject({
      id: target.id,
    });
    const input = encodeURIComponent(JSON.stringify({ id: target.username }));
    const native = await t.app.inject({
      method: "GET",
      url: `/trpc/users.get?input=${input}`,
      headers: admin.auth,
    });
    expect(native.statusCode).toBe(200);
    expect(ZUserStrict.parse(native.json().result.data).id).toBe(target.id);
    const missing = encodeURIComponent(JSON.stringify({ id: "2147483000" }));
    const notFound = await t.app.inject({
      method: "GET",
      url: `/trpc/users.get?input=${missing}`,
      headers: admin.auth,
    });
    expect(notFound.statusCode).toBe(404);
    expect(notFound.json().error.data.code).toBe("USER_NOT_FOUND");
  });
});

describe("GET and PATCH /api/users/me", () => {
  it("shows me", async () => {
    const { user, auth } = await t.userWithToken();
    const me = ZUserStrict.parse(ok(await call("GET", "/api/users/me", undefined, auth)));
    expect(me).toMatchObject({ id: user.id, email: user.email, username: user.username });
    const native = await t.app.inject({ method: "GET", url: "/trpc/users.me", headers: auth });
    expect(native.statusCode).toBe(200);
    expect(ZUserStrict.parse(native.json().result.data)).toEqual(me);
    // callerFor logs in again: a new session, a later lastLoginAt.
    await expect((await t.callerFor(user)).users.me()).resolves.toEqual({
      ...me,
      lastLoginAt: expect.any(String),
    });
  });

  it("edits my names and username", async () => {
    const { user, auth } = await t.userWithToken();
    const username = unique("myself.");
    const res = await call(
      "PATCH",
      "/api/users/me",
      { firstName: " Ada ", lastName: "Lovelace", username },
      auth,
    );
    expect(ZUserStrict.parse(ok(res))).toMatchObject({
      id: user.id,
      firstName: "Ada",
      lastName: "Lovelace",
      username,
      role: "User",
    });
    const caller = await t.callerFor(user);
    await expect(caller.users.updateMe({ lastName: "Byron" })).resolves.toMatchObject({
      firstName: "Ada",
      lastName: "Byron",
    });
  });

  it("refuses a taken (case-insensitive) or reserved username and empty names", async () => {
    const holder = await t.createUser({ username: unique("Holder.") });
    const { auth } = await t.userWithToken();
    expectError(
      await call("PATCH", "/api/users/me", { username: holder.username.toLowerCase() }, auth),
      409,
      "USERNAME_TAKEN",
    );
    for (const payload of [
      { username: "me" },
      { username: "signup" },
      { username: "12345" },
      { username: "ab" },
      { username: "has space" },
      { firstName: "   " },
      { lastName: "x".repeat(101) },
    ]) {
      expectError(await call("PATCH", "/api/users/me", payload, auth), 400, "VALIDATION_ERROR");
    }
  });
});

describe("GET /api/users (list)", () => {
  it("gives admins everyone, pages with $top/$skip and counts before paging", async () => {
    for (let i = 0; i < 3; i++) await t.createUser();
    const visible = await t.db
      .selectFrom("users")
      .select("id")
      .where("deleted_at", "is", null)
      .orderBy("id")
      .execute();
    const ids = visible.map((row) => row.id);

    const all = ZList.parse(ok(await call("GET", "/api/users?$top=1000")));
    expect(all.count).toBe(ids.length);
    expect(all.value.map((u) => u.id)).toEqual(ids);
    expect(all.nextLink).toBeUndefined();

    const page = ZList.parse(ok(await call("GET", "/api/users?$top=2&$skip=1")));
    expect(page.count).toBe(ids.length);
    expect(page.value.map((u) => u.id)).toEqual(ids.slice(1, 3));
    expect(page.nextLink).toEqual(expect.any(String));

    const beyond = ZList.parse(ok(await call("GET", `/api/users?$skip=${ids.length}`)));
    expect(beyond).toEqual({ value: [], count: ids.length });
  });

  it("refuses bad paging values with 400", async () => {
    for (const query of ["$top=0", "$top=1001", "$skip=-1", "$top=abc"]) {
      const res = await call("GET", `/api/users?${query}`);
      expect(res.statusCode, query).toBe(400);
      expect(["INVALID_FILTER", "VALIDATION_ERROR"]).toContain(res.json().code);
    }
    expectError(await call("GET", "/api/users?foo=bar"), 400, "VALIDATION_ERROR");
  });

  it("works through the tRPC caller", async () => {
    const caller = await t.callerFor(admin.user);
    const page = await caller.users.list({ $top: 1 });
    expect(page.value).toHaveLength(1);
    expect(page.count).toBeGreaterThan(1);
  });
});

describe("GET /api/users/{id}/accessible-organizations", () => {
  it("lists reachable organizations with the nearest membership's role", async () => {
    const member = await t.createUser();
    const org = (name: string, parentId: number | null) =>
      t.db
        .insertInto("organizations")
        .values({ name, parent_id: parentId })
        .returning("id")
        .executeTakeFirstOrThrow();
    const root = await org(unique("A-root-"), null);
    const child = await org(unique("B-child-"), root.id);
    const grandchild = await org(unique("C-grand-"), child.id);
    await org(unique("D-elsewhere-"), null);
    await t.db
      .insertInto("memberships")
      .values([
        { user_id: member.id, organization_id: root.id, role: "Admin" },
        { user_id: member.id, organization_id: grandchild.id, role: "Member" },
      ])
      .execute();
    const res = await call("GET", `/api/users/${member.id}/accessible-organizations`);
    const body = z
      .strictObject({
        organizations: z.array(
          z.strictObject({ id: z.number(), name: z.string(), role: z.enum(["Admin", "Member"]) }),
        ),
      })
      .parse(ok(res));
    expect(body.organizations.map((o) => [o.id, o.role])).toEqual([
      [root.id, "Admin"],
      [child.id, "Admin"],
      [grandchild.id, "Member"],
    ]);
    const caller = await t.callerFor(member);
    await expect(caller.users.accessibleOrganizations({ id: member.id })).resolves.toEqual(body);
    expectError(
      await call("GET", "/api/users/2147483000/accessible-organizations"),
      404,
      "USER_NOT_FOUND",
    );
  });
});

describe("reissue rate limits (RATE_LIMIT=on)", () => {
  let limited: TestApp;
  let limitedAdmin: Awaited<ReturnType<TestApp["userWithToken"]>>;
  beforeAll(async () => {
    limited = await createTestApp({ RATE_LIMIT: "on" });
    limitedAdmin = await limited.userWithToken({ role: "Admin" });
  });
  afterAll(() => limited.close());

  const reissue = (target: UserRow, kind: "invitation" | "verification") =>
    limited.app.inject({
      method: "POST",
      url: `/api/users/${target.id}/${kind}`,
      headers: limitedAdmin.auth,
    });

  for (const kind of ["invitation", "verification"] as const) {
    it(`refuses a second ${kind} within 60 s with 429 RATE_LIMITED and Retry-After`, async () => {
      const target = await limited.createUser(
        kind === "invitation"
          ? { status: "invited", emailVerified: false }
          : { status: "pending", emailVerified: false },
      );
      expect((await reissue(target, kind)).statusCode).toBe(200);
      const second = await reissue(target, kind);
      expect(second.statusCode).toBe(429);
      expect(ZApiErrorBody.strict().parse(second.json()).code).toBe("RATE_LIMITED");
      const retryAfter = Number(second.headers["retry-after"]);
      expect(Number.isInteger(retryAfter)).toBe(true);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      const mails = await limited.db
        .selectFrom("mail_outbox")
        .select("id")
        .where("user_id", "=", target.id)
        .execute();
      expect(mails).toHaveLength(1);
    });
  }

  it("allows a reissue once the previous one is more than 60 s old", async () => {
    const target = await limited.createUser({ status: "invited", emailVerified: false });
    expect((await reissue(target, "invitation")).statusCode).toBe(200);
    await limited.db
      .updateTable("rate_limits")
      .set({ window_start: new Date(Date.now() - 61_000) })
      .where("key", "=", `mail-invitation:${target.id}`)
      .execute();
    expect((await reissue(target, "invitation")).statusCode).toBe(200);
  });

  it("counts reissues only: the first one right after the user was created goes out", async () => {
    const created = await limited.app.inject({
      method: "POST",
      url: "/api/users",
      headers: limitedAdmin.auth,
      payload: { email: "fresh-invitee@example.com", firstName: "F", lastName: "I" },
    });
    expect(created.statusCode).toBe(201);
    const target = await limited.db
      .selectFrom("users")
      .selectAll()
      .where("id", "=", created.json().id)
      .executeTakeFirstOrThrow();
    expect((await reissue(target, "invitation")).statusCode).toBe(200);
    expect((await reissue(target, "invitation")).statusCode).toBe(429);
  });

  it("throws RATE_LIMITED through the tRPC caller too", async () => {
    const target = await limited.createUser({ status: "invited", emailVerified: false });
    const caller = await limited.callerFor(limitedAdmin.user);
    await caller.users.reissueInvitation({ id: target.id });
    await expect(caller.users.reissueInvitation({ id: target.id })).rejects.toMatchObject({
      apiCode: "RATE_LIMITED",
      code: "TOO_MANY_REQUESTS",
    });
  });
});
