import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectError, SECRETS } from "../helpers/expect-error.ts";
import { createTestApp, PASSWORD, type TestApp } from "../helpers/test-app.ts";

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

describe("GET /api/users/me/export", () => {
  it("holds the profile, sessions, memberships, mail log, audit entries and image link; no secrets", async () => {
    const me = await t.userWithToken();
    const admin = await t.userWithToken({ role: "Admin" });
    const org = await t.db
      .insertInto("organizations")
      .values({ name: "Mine" })
      .returning("id")
      .executeTakeFirstOrThrow();
    await t.db
      .insertInto("memberships")
      .values({ user_id: me.user.id, organization_id: org.id, role: "Member" })
      .execute();
    // An admin edit (audited) and a mail with a secret link in its payload.
    const edit = await t.app.inject({
      method: "PATCH",
      url: `/api/users/${me.user.id}`,
      headers: admin.auth,
      payload: { firstName: "Edited" },
    });
    expect(edit.statusCode, edit.body).toBe(200);
    await t.db
      .insertInto("mail_outbox")
      .values({
        user_id: me.user.id,
        kind: "password_reset",
        recipient: me.user.email,
        payload: JSON.stringify({ link: "https://app/reset?token=SECRET-LINK-TOKEN" }),
        message_id: "<x@example>",
      })
      .execute();
    const res = await t.app.inject({
      method: "GET",
      url: "/api/users/me/export",
      headers: me.auth,
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.body).not.toMatch(SECRETS);
    expect(res.body).not.toContain("SECRET-LINK-TOKEN");
    expect(res.body).not.toContain("argon2");
    const data = res.json();
    expect(data.profile).toMatchObject({ id: me.user.id, firstName: "Edited" });
    expect(data.sessions.items.length).toBeGreaterThanOrEqual(1);
    expect(data.memberships.items).toEqual([
      expect.objectContaining({ organizationId: org.id, organizationName: "Mine", role: "Member" }),
    ]);
    expect(data.mail.items).toEqual([
      expect.objectContaining({
        kind: "password_reset",
        recipient: me.user.email,
        status: "queued",
      }),
    ]);
    expect(data.audit.items).toEqual([
      expect.objectContaining({
        actorId: admin.user.id,
        action: "user.edit",
        targetUserId: me.user.id,
      }),
    ]);
    expect(data.profileImage).toBeNull();
    // The native door answers the same.
    const caller = await t.callerFor(me.user);
    const native = await caller.users.exportMe();
    expect(native.profile).toMatchObject({ id: data.profile.id, email: data.profile.email });
    expect(native.memberships).toEqual(data.memberships);
  });

  it("needs a token", async () => {
    expectError(
      await t.app.inject({ method: "GET", url: "/api/users/me/export" }),
      401,
      "UNAUTHENTICATED",
    );
  });
});

describe("DELETE /api/users/me", () => {
  it("needs the current password, then soft-deletes and ends every session", async () => {
    const me = await t.userWithToken();
    const other = await t.login(me.user);
    const wrong = await t.app.inject({
      method: "DELETE",
      url: "/api/users/me",
      headers: me.auth,
      payload: { currentPassword: `${PASSWORD}x` },
    });
    expectError(wrong, 403, "INVALID_CURRENT_PASSWORD");
    // No password with a fresh sign-in is step-up's case (test/factors/delete-me-step-up.test.ts).
    const res = await t.app.inject({
      method: "DELETE",
      url: "/api/users/me",
      headers: me.auth,
      payload: { currentPassword: PASSWORD },
    });
    expect(res.statusCode, res.body).toBe(200);
    const row = await t.db
      .selectFrom("users")
      .select(["status", "deleted_at", "status_before_delete"])
      .where("id", "=", me.user.id)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({ status: "deleted", status_before_delete: "active" });
    const live = await t.db
      .selectFrom("sessions")
      .select("id")
      .where("user_id", "=", me.user.id)
      .where("revoked_at", "is", null)
      .execute();
    expect(live).toEqual([]);
    // Both tokens are dead, and the refresh token too.
    expectError(
      await t.app.inject({ method: "GET", url: "/api/users/me", headers: me.auth }),
      401,
      "UNAUTHENTICATED",
    );
    const refresh = await t.app.inject({
      method: "POST",
      url: "/api/auth/refresh",
      payload: { refreshToken: other.refreshToken },
    });
    expect(refresh.statusCode).toBe(401);
    const login = await t.app.inject({
      method: "POST",
      url: "/api/auth/token",
      payload: { email: me.user.email, password: PASSWORD },
    });
    expectError(login, 401, "INVALID_CREDENTIALS");
    const audit = await t.db
      .selectFrom("audit_log")
      .select(["actor_id", "action"])
      .where("target_user_id", "=", me.user.id)
      .execute();
    expect(audit).toContainEqual({ actor_id: me.user.id, action: "user.delete.self" });
  });

  it("through tRPC too; the last AppAdmin cannot delete their account", async () => {
    const me = await t.createUser();
    const caller = await t.callerFor(me);
    await expect(caller.users.deleteMe({ currentPassword: PASSWORD })).resolves.toMatchObject({
      success: true,
    });
    // Every AppAdmin but one deleted: that one may not go.
    await t.db.updateTable("users").set({ role: "User" }).where("role", "=", "AppAdmin").execute();
    const last = await t.createUser({ role: "AppAdmin" });
    const lastCaller = await t.callerFor(last);
    await expect(lastCaller.users.deleteMe({ currentPassword: PASSWORD })).rejects.toMatchObject({
      apiCode: "CONFLICT",
    });
  });
});
