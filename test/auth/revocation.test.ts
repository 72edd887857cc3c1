import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ZTokenPair } from "../../routers/auth/token-schema.ts";
import { ZUser } from "../../routers/users/user-schema.ts";
import { ZApiErrorBody } from "../../server/errors/api-errors.ts";
import { expectUnauthenticated } from "../helpers/expect-error.ts";
import { createTestApp, PASSWORD, type TestApp } from "../helpers/test-app.ts";

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

const NEW_PASSWORD = "copper-meadow-silent-83-falcon";

const bearer = (accessToken: string) => ({ authorization: `Bearer ${accessToken}` });
const me = (accessToken: string) =>
  t.app.inject({ method: "GET", url: "/api/users/me", headers: bearer(accessToken) });
const refresh = (refreshToken: string) =>
  t.app.inject({ method: "POST", url: "/api/auth/refresh", payload: { refreshToken } });
const passwordLogin = (email: string, password: string) =>
  t.app.inject({ method: "POST", url: "/api/auth/token", payload: { email, password } });

describe("access tokens stop working at once", () => {
  it("after my own password change: every access token ends, this session's refresh token keeps working, other sessions end", async () => {
    const user = await t.createUser();
    const current = await t.login(user);
    const other = await t.login(user);
    expect((await me(current.accessToken)).statusCode).toBe(200);

    const res = await t.app.inject({
      method: "PUT",
      url: "/api/users/password",
      headers: bearer(current.accessToken),
      payload: { currentPassword: PASSWORD, newPassword: NEW_PASSWORD },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ success: true, message: expect.any(String) });

    expectUnauthenticated(await me(current.accessToken));
    expectUnauthenticated(await me(other.accessToken));

    const renewed = await refresh(current.refreshToken);
    expect(renewed.statusCode).toBe(200);
    const pair = ZTokenPair.parse(renewed.json());
    expect((await me(pair.accessToken)).statusCode).toBe(200);

    expectUnauthenticated(await refresh(other.refreshToken));

    expect((await passwordLogin(user.email, PASSWORD)).statusCode).toBe(401);
    expect((await passwordLogin(user.email, NEW_PASSWORD)).statusCode).toBe(200);
  });

  it("refuses my own password change with a wrong current password (403) and changes nothing", async () => {
    const { user, accessToken, refreshToken } = await t.userWithToken();
    const res = await t.app.inject({
      method: "PUT",
      url: "/api/users/password",
      headers: bearer(accessToken),
      payload: { currentPassword: `${PASSWORD}x`, newPassword: NEW_PASSWORD },
    });
    expect(res.statusCode).toBe(403);
    expect(ZApiErrorBody.strict().parse(res.json()).code).toBe("INVALID_CURRENT_PASSWORD");
    expect((await me(accessToken)).statusCode).toBe(200);
    expect((await refresh(refreshToken)).statusCode).toBe(200);
    expect((await passwordLogin(user.email, PASSWORD)).statusCode).toBe(200);
  });

  it("through the tRPC caller, the caller's own token is refused after the change", async () => {
    const user = await t.createUser();
    const caller = await t.callerFor(user);
    await expect(
      caller.users.setOwnPassword({ currentPassword: PASSWORD, newPassword: NEW_PASSWORD }),
    ).resolves.toMatchObject({ success: true });
    await expect(caller.users.me()).rejects.toMatchObject({ apiCode: "UNAUTHENTICATED" });
    // t.login signs with the row's token_version: read the user again after the bump.
    const fresh = await t.db
      .selectFrom("users")
      .selectAll()
      .where("id", "=", user.id)
      .executeTakeFirstOrThrow();
    expect(fresh.token_version).toBeGreaterThan(user.token_version);
    await expect(
      (await t.callerFor(fresh)).users.setOwnPassword({
        currentPassword: "definitely-not-it-123",
        newPassword: NEW_PASSWORD,
      }),
    ).rejects.toMatchObject({ apiCode: "INVALID_CURRENT_PASSWORD", code: "FORBIDDEN" });
  });

  it("after an admin sets the password: every token and session ends", async () => {
    const admin = await t.userWithToken({ role: "Admin" });
    const user = await t.createUser();
    const a = await t.login(user);
    const b = await t.login(user);
    const res = await t.app.inject({
      method: "PUT",
      url: `/api/users/${user.id}/password`,
      headers: admin.auth,
      payload: { newPassword: NEW_PASSWORD },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ success: true, message: expect.any(String) });
    for (const pair of [a, b]) {
      expectUnauthenticated(await me(pair.accessToken));
      expectUnauthenticated(await refresh(pair.refreshToken));
    }
    expect((await me(admin.accessToken)).statusCode).toBe(200);
    expect((await passwordLogin(user.email, NEW_PASSWORD)).statusCode).toBe(200);
  });

  it("after suspension by an admin (PATCH status suspended)", async () => {
    const admin = await t.userWithToken({ role: "Admin" });
    const user = await t.createUser();
    const pair = await t.login(user);
    const res = await t.app.inject({
      method: "PATCH",
      url: `/api/users/${user.id}`,
      headers: admin.auth,
      payload: { status: "suspended" },
    });
    expect(res.statusCode).toBe(200);
    expect(ZUser.strict().parse(res.json()).status).toBe("suspended");
    expectUnauthenticated(await me(pair.accessToken));
    expectUnauthenticated(await refresh(pair.refreshToken));
    expect((await passwordLogin(user.email, PASSWORD)).statusCode).toBe(401);

    // Re-activated, the user logs in afresh; the old tokens stay dead.
    const back = await t.app.inject({
      method: "PATCH",
      url: `/api/users/${user.id}`,
      headers: admin.auth,
      payload: { status: "active" },
    });
    expect(back.json().status).toBe("active");
    expectUnauthenticated(await me(pair.accessToken));
    expect((await passwordLogin(user.email, PASSWORD)).statusCode).toBe(200);
  });

  it("after deletion", async () => {
    const admin = await t.userWithToken({ role: "AppAdmin" });
    const user = await t.createUser();
    const pair = await t.login(user);
    const res = await t.app.inject({
      method: "DELETE",
      url: `/api/users/${user.id}`,
      headers: admin.auth,
    });
    expect(res.statusCode).toBe(200);
    expectUnauthenticated(await me(pair.accessToken));
    expectUnauthenticated(await refresh(pair.refreshToken));
  });

  it("after role demotion, admin routes are refused at once with the old token", async () => {
    const appAdmin = await t.userWithToken({ role: "AppAdmin" });
    const admin = await t.userWithToken({ role: "Admin" });
    const createBody = (n: number) => ({
      email: `demoted-${n}@example.com`,
      firstName: "De",
      lastName: "Moted",
    });
    const before = await t.app.inject({
      method: "POST",
      url: "/api/users",
      headers: admin.auth,
      payload: createBody(1),
    });
    expect(before.statusCode).toBe(201);

    const demote = await t.app.inject({
      method: "PATCH",
      url: `/api/users/${admin.user.id}`,
      headers: appAdmin.auth,
      payload: { role: "User" },
    });
    expect(demote.statusCode).toBe(200);
    expect(demote.json().role).toBe("User");

    const after = await t.app.inject({
      method: "POST",
      url: "/api/users",
      headers: admin.auth,
      payload: createBody(2),
    });
    expect(after.statusCode).toBe(403);
    expect(ZApiErrorBody.strict().parse(after.json()).code).toBe("UNAUTHORIZED");
    const list = await t.app.inject({ method: "GET", url: "/api/users", headers: admin.auth });
    expect(list.statusCode).toBe(200);
    expect(list.json().value.map((u: { id: number }) => u.id)).toEqual([admin.user.id]);
  });

  it("after logout-all through the tRPC caller, tokens from earlier logins are refused", async () => {
    const user = await t.createUser();
    const earlier = await t.login(user);
    const caller = await t.callerFor(user);
    await caller.auth.logoutAll();
    expectUnauthenticated(await me(earlier.accessToken));
    await expect(caller.users.me()).rejects.toMatchObject({ apiCode: "UNAUTHENTICATED" });
  });
});
