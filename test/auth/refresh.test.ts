import { decodeJwt } from "jose";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { ZTokenPair } from "../../routers/auth/token-schema.ts";
import { ZDone, ZSuccess } from "../../routers/shared-schema.ts";
import { hashToken } from "../../server/auth/opaque-tokens.ts";
import { ZApiErrorBody } from "../../server/errors/api-errors.ts";
import { expectUnauthenticated, SECRETS } from "../helpers/expect-error.ts";
import { createTestApp, PASSWORD, type TestApp } from "../helpers/test-app.ts";

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

const ZSessionList = z.strictObject({
  sessions: z.array(
    z.strictObject({
      id: z.number().int().positive(),
      current: z.boolean(),
      userAgent: z.string().nullable(),
      ip: z.string().nullable(),
      createdAt: z.iso.datetime(),
      lastUsedAt: z.iso.datetime(),
      expiresAt: z.iso.datetime(),
    }),
  ),
});

const bearer = (accessToken: string) => ({ authorization: `Bearer ${accessToken}` });
const sessionOf = (accessToken: string) => decodeJwt(accessToken).sid as number;

const refresh = (refreshToken: string) =>
  t.app.inject({ method: "POST", url: "/api/auth/refresh", payload: { refreshToken } });
const logout = (refreshToken: string) =>
  t.app.inject({ method: "POST", url: "/api/auth/logout", payload: { refreshToken } });
const me = (accessToken: string) =>
  t.app.inject({ method: "GET", url: "/api/users/me", headers: bearer(accessToken) });
const passwordLogin = (email: string) =>
  t.app.inject({ method: "POST", url: "/api/auth/token", payload: { email, password: PASSWORD } });

/** Moves a spent token's rotation back past the reuse grace window (test/auth/refresh-race.test.ts). */
const pastGraceWindow = (refreshToken: string) =>
  t.db
    .updateTable("refresh_tokens")
    .set({ spent_at: sql`now() - interval '1 hour'` })
    .where("token_hash", "=", hashToken(refreshToken))
    .execute();

describe("POST /api/auth/refresh", () => {
  it("returns a new pair and spends the old refresh token", async () => {
    const user = await t.createUser();
    const first = ZTokenPair.parse((await passwordLogin(user.email)).json());

    const res = await refresh(first.refreshToken);
    expect(res.statusCode).toBe(200);
    expect(res.body).not.toMatch(SECRETS);
    const second = ZTokenPair.strict().parse(res.json());
    expect(second.tokenType).toBe("Bearer");
    expect(second.expiresIn).toBe(900);
    expect(second.refreshToken).not.toBe(first.refreshToken);
    expect(second.accessToken).not.toBe(first.accessToken);
    expect(sessionOf(second.accessToken)).toBe(sessionOf(first.accessToken));
    expect((await me(second.accessToken)).statusCode).toBe(200);

    const spent = await t.db
      .selectFrom("refresh_tokens")
      .select(["spent_at"])
      .where("session_id", "=", sessionOf(first.accessToken))
      .orderBy("created_at")
      .execute();
    expect(spent.filter((row) => row.spent_at !== null)).toHaveLength(1);
    expect(spent.filter((row) => row.spent_at === null)).toHaveLength(1);
  });

  it("treats a spent token as reuse: 401 and the whole family is revoked", async () => {
    const user = await t.createUser();
    const first = await t.login(user);
    const other = await t.login(user); // another family of the same user
    const second = ZTokenPair.parse((await refresh(first.refreshToken)).json());
    await pastGraceWindow(first.refreshToken);

    expectUnauthenticated(await refresh(first.refreshToken));
    // The newer token of the family is dead, and so is the session's access token, at once.
    expectUnauthenticated(await refresh(second.refreshToken));
    expectUnauthenticated(await me(second.accessToken));
    expectUnauthenticated(await me(first.accessToken));
    // Another family is untouched.
    expect((await me(other.accessToken)).statusCode).toBe(200);
    expect((await refresh(other.refreshToken)).statusCode).toBe(200);
  });

  it("refuses unknown and malformed refresh tokens", async () => {
    expectUnauthenticated(await refresh("a".repeat(43)));
    const empty = await refresh("");
    expect(empty.statusCode).toBe(400);
    expect(empty.json().code).toBe("VALIDATION_ERROR");
    const extra = await t.app.inject({
      method: "POST",
      url: "/api/auth/refresh",
      payload: { refreshToken: "abc", userId: 1 },
    });
    expect(extra.statusCode).toBe(400);
    expect(extra.json().code).toBe("VALIDATION_ERROR");
  });

  it("works through the tRPC caller, and reuse throws UNAUTHENTICATED", async () => {
    const user = await t.createUser();
    const first = await t.login(user);
    const anonymous = await t.callerFor();
    const second = await anonymous.auth.refresh({ refreshToken: first.refreshToken });
    expect(ZTokenPair.strict().parse(second).refreshToken).not.toBe(first.refreshToken);
    await pastGraceWindow(first.refreshToken);
    await expect(
      anonymous.auth.refresh({ refreshToken: first.refreshToken }),
    ).rejects.toMatchObject({ apiCode: "UNAUTHENTICATED", code: "UNAUTHORIZED" });
    await expect(
      anonymous.auth.refresh({ refreshToken: second.refreshToken }),
    ).rejects.toMatchObject({ apiCode: "UNAUTHENTICATED" });
  });
});

describe("POST /api/auth/logout", () => {
  it("ends the session: its refresh token fails and its access token is refused", async () => {
    const user = await t.createUser();
    const pair = await t.login(user);
    const other = await t.login(user);
    const res = await logout(pair.refreshToken);
    expect(res.statusCode).toBe(200);
    expect(ZDone.strict().parse(res.json())).toEqual({ success: true });

    expectUnauthenticated(await refresh(pair.refreshToken));
    expectUnauthenticated(await me(pair.accessToken));
    expect((await me(other.accessToken)).statusCode).toBe(200);
  });

  it("answers the same for an unknown or already used token", async () => {
    const user = await t.createUser();
    const pair = await t.login(user);
    await logout(pair.refreshToken);
    const again = await logout(pair.refreshToken);
    const unknown = await logout("b".repeat(43));
    expect(again.statusCode).toBe(200);
    expect(unknown.statusCode).toBe(200);
    expect(unknown.body).toBe(again.body);
  });

  it("works through the tRPC caller", async () => {
    const user = await t.createUser();
    const pair = await t.login(user);
    const anonymous = await t.callerFor();
    await expect(anonymous.auth.logout({ refreshToken: pair.refreshToken })).resolves.toEqual({
      success: true,
    });
    await expect(anonymous.auth.refresh({ refreshToken: pair.refreshToken })).rejects.toMatchObject(
      { apiCode: "UNAUTHENTICATED" },
    );
  });
});

describe("POST /api/auth/logout-all", () => {
  it("ends every session and every access token of the caller only", async () => {
    const user = await t.createUser();
    const stranger = await t.userWithToken();
    const sessions = [await t.login(user), await t.login(user), await t.login(user)];
    const res = await t.app.inject({
      method: "POST",
      url: "/api/auth/logout-all",
      headers: bearer(sessions[0]?.accessToken as string),
    });
    expect(res.statusCode).toBe(200);
    expect(ZDone.strict().parse(res.json())).toEqual({ success: true });

    for (const pair of sessions) {
      expectUnauthenticated(await me(pair.accessToken));
      expectUnauthenticated(await refresh(pair.refreshToken));
    }
    expect((await me(stranger.accessToken)).statusCode).toBe(200);
    // A fresh login still works.
    expect((await passwordLogin(user.email)).statusCode).toBe(200);
  });

  it("needs a bearer token", async () => {
    expectUnauthenticated(await t.app.inject({ method: "POST", url: "/api/auth/logout-all" }));
  });

  it("works through the tRPC caller", async () => {
    const user = await t.createUser();
    const caller = await t.callerFor(user);
    const other = await t.login(user);
    await expect(caller.auth.logoutAll()).resolves.toEqual({ success: true });
    await expect(caller.users.me()).rejects.toMatchObject({ apiCode: "UNAUTHENTICATED" });
    expectUnauthenticated(await me(other.accessToken));
  });
});

describe("GET /api/users/me/sessions", () => {
  it("lists my live sessions with exactly the current one marked", async () => {
    const user = await t.createUser();
    const a = await t.login(user);
    const b = await t.login(user);
    const ended = await t.login(user);
    await logout(ended.refreshToken);
    await t.userWithToken(); // someone else's session is not listed

    const res = await t.app.inject({
      method: "GET",
      url: "/api/users/me/sessions",
      headers: { ...bearer(b.accessToken), "user-agent": "vitest-agent/1.0" },
    });
    expect(res.statusCode).toBe(200);
    expect(res.body).not.toMatch(SECRETS);
    expect(res.body).not.toContain(a.refreshToken);
    const { sessions } = ZSessionList.parse(res.json());
    expect(sessions.map((s) => s.id).sort()).toEqual(
      [sessionOf(a.accessToken), sessionOf(b.accessToken)].sort(),
    );
    expect(sessions.filter((s) => s.current).map((s) => s.id)).toEqual([sessionOf(b.accessToken)]);
  });

  it("answers the same through the tRPC caller and natively", async () => {
    const { user, accessToken, auth } = await t.userWithToken();
    const caller = await t.callerFor(user); // a second session
    const listed = await caller.users.sessions();
    expect(listed.sessions).toHaveLength(2);
    expect(listed.sessions.filter((s) => s.current)).toHaveLength(1);
    expect(listed.sessions.find((s) => s.current)?.id).not.toBe(sessionOf(accessToken));

    const native = await t.app.inject({
      method: "GET",
      url: "/trpc/users.sessions",
      headers: auth,
    });
    expect(native.statusCode).toBe(200);
    const data = ZSessionList.parse(native.json().result.data);
    expect(data.sessions.find((s) => s.current)?.id).toBe(sessionOf(accessToken));
  });

  it("needs a bearer token", async () => {
    expectUnauthenticated(await t.app.inject({ method: "GET", url: "/api/users/me/sessions" }));
  });
});

describe("DELETE /api/users/me/sessions/{id}", () => {
  it("ends one session: its tokens stop working, the others keep working", async () => {
    const user = await t.createUser();
    const keep = await t.login(user);
    const end = await t.login(user);
    const res = await t.app.inject({
      method: "DELETE",
      url: `/api/users/me/sessions/${sessionOf(end.accessToken)}`,
      headers: bearer(keep.accessToken),
    });
    expect(res.statusCode).toBe(200);
    expect(ZSuccess.strict().parse(res.json()).success).toBe(true);

    expectUnauthenticated(await me(end.accessToken));
    expectUnauthenticated(await refresh(end.refreshToken));
    expect((await me(keep.accessToken)).statusCode).toBe(200);

    // Ending it again: it is no longer live.
    const again = await t.app.inject({
      method: "DELETE",
      url: `/api/users/me/sessions/${sessionOf(end.accessToken)}`,
      headers: bearer(keep.accessToken),
    });
    expect(again.statusCode).toBe(404);
    expect(again.json()).toEqual({ code: "NOT_FOUND", message: expect.any(String) });
  });

  it("can end the current session", async () => {
    const { accessToken, auth } = await t.userWithToken();
    const res = await t.app.inject({
      method: "DELETE",
      url: `/api/users/me/sessions/${sessionOf(accessToken)}`,
      headers: auth,
    });
    expect(res.statusCode).toBe(200);
    expectUnauthenticated(await me(accessToken));
  });

  it("answers 404 NOT_FOUND for another user's session and leaves it alone", async () => {
    const mine = await t.userWithToken();
    const theirs = await t.userWithToken();
    const res = await t.app.inject({
      method: "DELETE",
      url: `/api/users/me/sessions/${sessionOf(theirs.accessToken)}`,
      headers: mine.auth,
    });
    expect(res.statusCode).toBe(404);
    const body = ZApiErrorBody.strict().parse(res.json());
    expect(body.code).toBe("NOT_FOUND");
    const missing = await t.app.inject({
      method: "DELETE",
      url: "/api/users/me/sessions/2147483647",
      headers: mine.auth,
    });
    expect(missing.statusCode).toBe(404);
    expect(missing.body).toBe(res.body);
    expect((await me(theirs.accessToken)).statusCode).toBe(200);
  });

  it("refuses a malformed id with 400 VALIDATION_ERROR", async () => {
    const { auth } = await t.userWithToken();
    for (const id of ["abc", "0", "-1", "1.5", "99999999999"]) {
      const res = await t.app.inject({
        method: "DELETE",
        url: `/api/users/me/sessions/${id}`,
        headers: auth,
      });
      expect(res.statusCode, id).toBe(400);
      expect(res.json().code, id).toBe("VALIDATION_ERROR");
    }
  });

  it("works through the tRPC caller (NOT_FOUND for a stranger's session)", async () => {
    const user = await t.createUser();
    const caller = await t.callerFor(user);
    const other = await t.login(user);
    const stranger = await t.userWithToken();
    await expect(caller.users.endSession({ id: sessionOf(other.accessToken) })).resolves.toEqual({
      success: true,
      message: expect.any(String),
    });
    expectUnauthenticated(await me(other.accessToken));
    await expect(
      caller.users.endSession({ id: sessionOf(stranger.accessToken) }),
    ).rejects.toMatchObject({ apiCode: "NOT_FOUND" });
  });
});
