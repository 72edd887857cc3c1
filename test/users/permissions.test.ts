import { forEachOpenApiProcedure } from "trpc-to-openapi";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { UserRow } from "../../db/users.ts";
import { appRouter } from "../../routers/router.ts";
import { ZUser } from "../../routers/users/user-schema.ts";
import { proceduresOf } from "../../server/http/trpc-wire.ts";
import type { Meta } from "../../server/trpc.ts";
import { expectError } from "../helpers/expect-error.ts";
import { createTestApp, PASSWORD, type TestApp } from "../helpers/test-app.ts";

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

const NEW_PASSWORD = "copper-meadow-silent-83-falcon";
const MISSING_ID = 2_147_483_000;

type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

/** The admin operations and a valid request for each, aimed at `id`. */
const adminOperations = (id: number) =>
  [
    {
      method: "POST",
      url: "/api/users",
      payload: { email: `x${id}@e.com`, firstName: "A", lastName: "B" },
    },
    { method: "PATCH", url: `/api/users/${id}`, payload: { firstName: "Changed" } },
    { method: "DELETE", url: `/api/users/${id}` },
    { method: "POST", url: `/api/users/${id}/restore` },
    { method: "PUT", url: `/api/users/${id}/password`, payload: { newPassword: NEW_PASSWORD } },
    { method: "POST", url: `/api/users/${id}/invitation` },
    { method: "POST", url: `/api/users/${id}/verification` },
    { method: "GET", url: `/api/users/${id}/accessible-organizations` },
  ] as Array<{ method: Method; url: string; payload?: object }>;

const userRow = (id: number) =>
  t.db.selectFrom("users").selectAll().where("id", "=", id).executeTakeFirstOrThrow();

describe("every protected REST path", () => {
  it("answers 401 UNAUTHENTICATED with WWW-Authenticate: Bearer without a token", async () => {
    const routes: Array<{ method: Method; url: string }> = [];
    forEachOpenApiProcedure<Meta>(proceduresOf(appRouter), ({ meta }) => {
      if (meta.openapi.protect === false) return;
      routes.push({
        method: meta.openapi.method as Method,
        url: `/api${meta.openapi.path.replace(/\{\w+\}/g, "1")}`,
      });
    });
    expect(routes.length).toBeGreaterThanOrEqual(14);
    for (const route of routes) {
      const takesBody = !["GET", "DELETE"].includes(route.method);
      const res = await t.app.inject({ ...route, ...(takesBody && { payload: {} }) });
      expectError(res, 401, "UNAUTHENTICATED");
      expect(res.headers["www-authenticate"], `${route.method} ${route.url}`).toBe("Bearer");
    }
  });
});

describe("a User on admin operations", () => {
  it("gets 403 UNAUTHORIZED over REST, for an existing and a non-existent target alike", async () => {
    const caller = await t.userWithToken();
    const target = await t.createUser({ status: "invited", emailVerified: false });
    const { password_hash: hash } = await userRow(target.id);
    for (const id of [target.id, MISSING_ID]) {
      for (const op of adminOperations(id)) {
        const res = await t.app.inject({ ...op, headers: caller.auth });
        expectError(res, 403, "UNAUTHORIZED");
      }
    }
    // Nothing happened to the target.
    const after = await userRow(target.id);
    expect(after).toMatchObject({ first_name: target.first_name, status: "invited" });
    expect(after.password_hash).toBe(hash);
    const mails = await t.db
      .selectFrom("mail_outbox")
      .select("id")
      .where("user_id", "=", target.id)
      .execute();
    expect(mails).toHaveLength(0);
  });

  it("gets 403 even with an invalid body: the role check comes first", async () => {
    const caller = await t.userWithToken();
    const res = await t.app.inject({
      method: "POST",
      url: "/api/users",
      headers: caller.auth,
      payload: { nonsense: true },
    });
    expectError(res, 403, "UNAUTHORIZED");
  });

  it("gets UNAUTHORIZED (tRPC FORBIDDEN) from every admin procedure of the caller", async () => {
    const user = await t.createUser();
    const target = await t.createUser({ status: "invited", emailVerified: false });
    const caller = await t.callerFor(user);
    for (const id of [target.id, MISSING_ID]) {
      // Thunks: each call starts only when awaited, so no rejection goes unhandled.
      const calls = [
        () => caller.users.create({ email: `y${id}@e.com`, firstName: "A", lastName: "B" }),
        () => caller.users.edit({ id, firstName: "Changed" }),
        () => caller.users.delete({ id }),
        () => caller.users.restore({ id }),
        () => caller.users.setPassword({ id, newPassword: NEW_PASSWORD }),
        () => caller.users.reissueInvitation({ id }),
        () => caller.users.reissueVerification({ id }),
        () => caller.users.accessibleOrganizations({ id }),
      ];
      for (const call of calls) {
        await expect(call()).rejects.toMatchObject({ apiCode: "UNAUTHORIZED", code: "FORBIDDEN" });
      }
    }
  });

  it("may use the self-service ones on themselves", async () => {
    const { user, auth } = await t.userWithToken({ emailVerified: false });
    const orgs = await t.app.inject({
      method: "GET",
      url: `/api/users/${user.id}/accessible-organizations`,
      headers: auth,
    });
    expect(orgs.statusCode).toBe(200);
    expect(orgs.json()).toEqual({ organizations: [] });
    const verification = await t.app.inject({
      method: "POST",
      url: `/api/users/${user.id}/verification`,
      headers: auth,
    });
    expect(verification.statusCode).toBe(200);
    expect(verification.json()).toEqual({ success: true, message: expect.any(String) });
  });
});

describe("an Admin on an AppAdmin or another Admin", () => {
  it("gets 403 on edit, delete, set password, restore and reissue invitation", async () => {
    const admin = await t.userWithToken({ role: "Admin" });
    for (const role of ["AppAdmin", "Admin"] as const) {
      const target = await t.createUser({ role });
      const { password_hash: hash } = await userRow(target.id);
      const deleted = await t.createUser({ role, status: "deleted" });
      const invited = await t.createUser({ role, status: "invited" });
      const ops = [
        { method: "PATCH", url: `/api/users/${target.id}`, payload: { firstName: "Hacked" } },
        { method: "PATCH", url: `/api/users/${target.id}`, payload: { status: "suspended" } },
        { method: "DELETE", url: `/api/users/${target.id}` },
        {
          method: "PUT",
          url: `/api/users/${target.id}/password`,
          payload: { newPassword: NEW_PASSWORD },
        },
        { method: "POST", url: `/api/users/${deleted.id}/restore` },
        { method: "POST", url: `/api/users/${invited.id}/invitation` },
      ] as Array<{ method: Method; url: string; payload?: object }>;
      for (const op of ops) {
        expectError(await t.app.inject({ ...op, headers: admin.auth }), 403, "UNAUTHORIZED");
      }
      const after = await userRow(target.id);
      expect(after).toMatchObject({ first_name: "Test", status: "active", deleted_at: null });
      expect(after.password_hash).toBe(hash);
    }
  });

  it("throws UNAUTHORIZED through the tRPC caller too", async () => {
    const caller = await t.callerFor(await t.createUser({ role: "Admin" }));
    const target = await t.createUser({ role: "AppAdmin" });
    await expect(caller.users.edit({ id: target.id, lastName: "X" })).rejects.toMatchObject({
      apiCode: "UNAUTHORIZED",
    });
    await expect(caller.users.delete({ id: target.id })).rejects.toMatchObject({
      apiCode: "UNAUTHORIZED",
    });
    await expect(
      caller.users.setPassword({ id: target.id, newPassword: NEW_PASSWORD }),
    ).rejects.toMatchObject({ apiCode: "UNAUTHORIZED" });
  });

  it("may still see them (get, accessible organizations)", async () => {
    const admin = await t.userWithToken({ role: "Admin" });
    const target = await t.createUser({ role: "AppAdmin" });
    const res = await t.app.inject({
      method: "GET",
      url: `/api/users/${target.id}`,
      headers: admin.auth,
    });
    expect(res.statusCode).toBe(200);
    expect(ZUser.strict().parse(res.json()).role).toBe("AppAdmin");
  });
});

describe("granting roles", () => {
  it("an Admin may not give a role other than User (create or edit): 403", async () => {
    const admin = await t.userWithToken({ role: "Admin" });
    const target = await t.createUser();
    for (const role of ["Admin", "AppAdmin"]) {
      const created = await t.app.inject({
        method: "POST",
        url: "/api/users",
        headers: admin.auth,
        payload: { email: `grant-${role}@example.com`, firstName: "G", lastName: "R", role },
      });
      expectError(created, 403, "UNAUTHORIZED");
      const edited = await t.app.inject({
        method: "PATCH",
        url: `/api/users/${target.id}`,
        headers: admin.auth,
        payload: { role },
      });
      expectError(edited, 403, "UNAUTHORIZED");
    }
    expect((await userRow(target.id)).role).toBe("User");
    const none = await t.db
      .selectFrom("users")
      .select("id")
      .where("email", "like", "grant-%")
      .execute();
    expect(none).toHaveLength(0);
  });

  it("an Admin may create and edit plain Users (role User)", async () => {
    const admin = await t.userWithToken({ role: "Admin" });
    const target = await t.createUser();
    const edited = await t.app.inject({
      method: "PATCH",
      url: `/api/users/${target.id}`,
      headers: admin.auth,
      payload: { role: "User", firstName: "Fine" },
    });
    expect(edited.statusCode).toBe(200);
    expect(edited.json()).toMatchObject({ role: "User", firstName: "Fine" });
  });

  it("an AppAdmin may give Admin and AppAdmin", async () => {
    const appAdmin = await t.userWithToken({ role: "AppAdmin" });
    const target = await t.createUser();
    const edited = await t.app.inject({
      method: "PATCH",
      url: `/api/users/${target.id}`,
      headers: appAdmin.auth,
      payload: { role: "Admin" },
    });
    expect(edited.statusCode).toBe(200);
    expect(ZUser.strict().parse(edited.json()).role).toBe("Admin");

    const created = await t.app.inject({
      method: "POST",
      url: "/api/users",
      headers: appAdmin.auth,
      payload: {
        email: "new-appadmin@example.com",
        firstName: "N",
        lastName: "A",
        role: "AppAdmin",
      },
    });
    expect(created.statusCode).toBe(201);
    expect(ZUser.strict().parse(created.json())).toMatchObject({
      role: "AppAdmin",
      status: "invited",
    });

    const caller = await t.callerFor(await t.createUser({ role: "AppAdmin" }));
    await expect(caller.users.edit({ id: target.id, role: "AppAdmin" })).resolves.toMatchObject({
      role: "AppAdmin",
    });
  });
});

describe("visibility of other users to a User", () => {
  it("a stranger by id or by username is 404 USER_NOT_FOUND, the same as a non-existent one", async () => {
    const viewer = await t.userWithToken();
    const stranger = await t.createUser();
    const get = (idOrName: string | number) =>
      t.app.inject({ method: "GET", url: `/api/users/${idOrName}`, headers: viewer.auth });

    // A stranger and nobody get the same bytes: no existence oracle.
    const missing = await get(MISSING_ID);
    expectError(missing, 404, "USER_NOT_FOUND");
    for (const id of [stranger.id, stranger.username, "no-such-username"]) {
      const res = await get(id);
      expectError(res, 404, "USER_NOT_FOUND");
      expect(res.body).toBe(missing.body);
    }

    const caller = await t.callerFor(viewer.user);
    for (const id of [String(stranger.id), stranger.username, String(MISSING_ID)]) {
      await expect(caller.users.get({ id })).rejects.toMatchObject({
        apiCode: "USER_NOT_FOUND",
        code: "NOT_FOUND",
        message: "User not found",
      });
    }

    const native = await t.app.inject({
      method: "GET",
      url: `/trpc/users.get?input=${encodeURIComponent(JSON.stringify({ id: String(stranger.id) }))}`,
      headers: viewer.auth,
    });
    expect(native.statusCode).toBe(404);
    expect(native.json().error.data.code).toBe("USER_NOT_FOUND");
    expect(native.body).not.toContain(stranger.email);
  });

  it("a User in no organization lists only themselves", async () => {
    await t.createUser();
    await t.createUser({ role: "Admin" });
    const viewer = await t.userWithToken();
    const res = await t.app.inject({ method: "GET", url: "/api/users", headers: viewer.auth });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.count).toBe(1);
    expect(body.value.map((u: { id: number }) => u.id)).toEqual([viewer.user.id]);
    const caller = await t.callerFor(viewer.user);
    const listed = await caller.users.list({});
    expect(listed.count).toBe(1);
    expect(listed.value.map((u) => u.id)).toEqual([viewer.user.id]);
  });

  it("a User sees members of organizations they can reach (and below), but not deleted ones", async () => {
    const viewer = await t.userWithToken();
    const colleague = await t.createUser();
    const below = await t.createUser();
    const gone = await t.createUser();
    const outside = await t.createUser();
    const insertOrg = (name: string, parentId: number | null) =>
      t.db
        .insertInto("organizations")
        .values({ name, parent_id: parentId })
        .returning("id")
        .executeTakeFirstOrThrow();
    const root = await insertOrg("Root perm", null);
    const child = await insertOrg("Child perm", root.id);
    const other = await insertOrg("Other perm", null);
    const member = (user: UserRow, orgId: number) => ({
      user_id: user.id,
      organization_id: orgId,
      role: "Member" as const,
    });
    await t.db
      .insertInto("memberships")
      .values([
        member(viewer.user, root.id),
        member(colleague, root.id),
        member(below, child.id),
        member(gone, root.id),
        member(outside, other.id),
      ])
      .execute();
    const admin = await t.callerFor(await t.createUser({ role: "Admin" }));
    await admin.users.delete({ id: gone.id });

    const res = await t.app.inject({ method: "GET", url: "/api/users", headers: viewer.auth });
    expect(res.statusCode).toBe(200);
    const ids = res.json().value.map((u: { id: number }) => u.id);
    expect(ids.sort((a: number, b: number) => a - b)).toEqual(
      [viewer.user.id, colleague.id, below.id].sort((a, b) => a - b),
    );
    expect(res.json().count).toBe(3);

    const get = (idOrName: string | number) =>
      t.app.inject({ method: "GET", url: `/api/users/${idOrName}`, headers: viewer.auth });
    expect((await get(colleague.username)).statusCode).toBe(200);
    expect((await get(below.id)).statusCode).toBe(200);
    expectError(await get(outside.id), 404, "USER_NOT_FOUND");
    expectError(await get(gone.id), 404, "USER_NOT_FOUND");
  });
});

describe("mass assignment", () => {
  it("signup refuses role, status, emailVerified, passwordHash and id with 400", async () => {
    const base = { email: "mass@example.com", password: PASSWORD, firstName: "M", lastName: "A" };
    for (const extra of [
      { role: "AppAdmin" },
      { status: "active" },
      { emailVerified: true },
      { passwordHash: "$argon2id$v=19$m=4096,t=1,p=1$c2FsdHNhbHQ$aGFzaA" },
      { id: 1 },
      { tokenVersion: 0 },
    ]) {
      const res = await t.app.inject({
        method: "POST",
        url: "/api/users/signup",
        payload: { ...base, ...extra },
      });
      const body = expectError(res, 400, "VALIDATION_ERROR", /\$argon2|token_version/);
      expect(body.issues?.length).toBeGreaterThan(0);
    }
    const none = await t.db
      .selectFrom("users")
      .select("id")
      .where("email", "=", "mass@example.com")
      .execute();
    expect(none).toHaveLength(0);
  });

  it("PATCH /api/users/me refuses role, status, email and id with 400, changing nothing", async () => {
    const { user, auth } = await t.userWithToken();
    for (const extra of [
      { role: "AppAdmin" },
      { status: "active" },
      { email: "other@example.com" },
      { emailVerified: false },
      { id: user.id + 1 },
    ]) {
      const res = await t.app.inject({
        method: "PATCH",
        url: "/api/users/me",
        headers: auth,
        payload: { firstName: "Sneaky", ...extra },
      });
      expectError(res, 400, "VALIDATION_ERROR");
    }
    const after = await userRow(user.id);
    expect(after).toMatchObject({ role: "User", first_name: "Test", email: user.email });

    const caller = await t.callerFor(user);
    await expect(caller.users.updateMe({ role: "AppAdmin" } as never)).rejects.toMatchObject({
      code: "BAD_REQUEST",
    });
    expect((await userRow(user.id)).role).toBe("User");
  });

  it("PATCH /api/users/{id} refuses an id in the body (differing or not) and unknown fields", async () => {
    const admin = await t.userWithToken({ role: "AppAdmin" });
    const target = await t.createUser();
    const victim = await t.createUser();
    for (const payload of [
      { id: victim.id, firstName: "Redirected" },
      { id: target.id, firstName: "Same" },
      { email: "changed@example.com" },
      { emailVerified: false },
      { passwordHash: "x" },
      { status: "deleted" },
      { status: "invited" },
    ]) {
      const res = await t.app.inject({
        method: "PATCH",
        url: `/api/users/${target.id}`,
        headers: admin.auth,
        payload,
      });
      expectError(res, 400, "VALIDATION_ERROR", /\$argon2|token_version/);
    }
    expect((await userRow(victim.id)).first_name).toBe("Test");
    expect(await userRow(target.id)).toMatchObject({
      first_name: "Test",
      email: target.email,
      status: "active",
    });
  });

  it("POST /api/users refuses status and emailVerified", async () => {
    const admin = await t.userWithToken({ role: "AppAdmin" });
    for (const extra of [{ status: "active" }, { emailVerified: true }]) {
      const res = await t.app.inject({
        method: "POST",
        url: "/api/users",
        headers: admin.auth,
        payload: { email: "mass-create@example.com", firstName: "M", lastName: "C", ...extra },
      });
      expectError(res, 400, "VALIDATION_ERROR");
    }
  });
});

describe("acting on yourself", () => {
  it("an AppAdmin deleting themselves gets 409 CONFLICT and stays", async () => {
    const me = await t.userWithToken({ role: "AppAdmin" });
    const res = await t.app.inject({
      method: "DELETE",
      url: `/api/users/${me.user.id}`,
      headers: me.auth,
    });
    expectError(res, 409, "CONFLICT");
    expect((await userRow(me.user.id)).status).toBe("active");
    const caller = await t.callerFor(me.user);
    await expect(caller.users.delete({ id: me.user.id })).rejects.toMatchObject({
      apiCode: "CONFLICT",
    });
  });

  it("an Admin deleting themselves is refused (403: only an AppAdmin acts on an Admin)", async () => {
    const me = await t.userWithToken({ role: "Admin" });
    const res = await t.app.inject({
      method: "DELETE",
      url: `/api/users/${me.user.id}`,
      headers: me.auth,
    });
    expectError(res, 403, "UNAUTHORIZED");
    expect((await userRow(me.user.id)).status).toBe("active");
  });

  it("an AppAdmin may not change their own role or status (409)", async () => {
    const me = await t.userWithToken({ role: "AppAdmin" });
    for (const payload of [{ role: "User" }, { status: "suspended" }]) {
      const res = await t.app.inject({
        method: "PATCH",
        url: `/api/users/${me.user.id}`,
        headers: me.auth,
        payload,
      });
      expectError(res, 409, "CONFLICT");
    }
    expect(await userRow(me.user.id)).toMatchObject({ role: "AppAdmin", status: "active" });
  });
});
