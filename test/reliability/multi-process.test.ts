// Two server processes on one PostgreSQL database (the same JWT_SECRET): every security decision
// is made from the shared database, so what one process does is seen by the other at once.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SmtpTestServer, startSmtpServer } from "../helpers/mail-harness.ts";
import {
  ADMIN_EMAIL,
  api,
  bodyOf,
  createDatabase,
  expectOneMailEach,
  expectRefusedWithinASecond,
  type FreshDatabase,
  killAllServers,
  login,
  PASSWORD,
  pgServerUnavailable,
  type ServerProcess,
  signupAndLogin,
  startServer,
  uniqueEmail,
} from "./helpers.ts";

const unavailable = await pgServerUnavailable();

describe.skipIf(unavailable)(
  `two processes, one database${unavailable ? ` — SKIPPED: ${unavailable}` : ""}`,
  () => {
    let database: FreshDatabase;
    let a: ServerProcess;
    let b: ServerProcess;
    let smtp: SmtpTestServer;

    beforeAll(async () => {
      database = await createDatabase("multi");
      smtp = await startSmtpServer();
      // Started at once on an empty database, as replicas of a deploy are: both migrate and
      // both ensure the first admin. Both run the mail worker; limits are on.
      const env = {
        DATABASE_URL: database.url,
        ADMIN_EMAIL,
        ADMIN_PASSWORD: PASSWORD,
        SMTP_URL: smtp.url,
        RATE_LIMIT: "on",
        LOGIN_LOCK_AFTER_FAILURES: "4",
        // Replays below come at once: without a grace window they are reuse, not a race.
        REFRESH_REUSE_GRACE_SECONDS: "0",
      };
      [a, b] = await Promise.all([startServer(env), startServer(env)]);
    });

    afterAll(async () => {
      await killAllServers();
      await database?.drop();
      await smtp?.close();
    });

    it("both replicas came up on the empty database with one admin", async () => {
      const adminA = await login(a.url, ADMIN_EMAIL);
      const list = await api(
        b.url,
        "GET",
        `/api/users?$filter=${encodeURIComponent(`email eq '${ADMIN_EMAIL}'`)}`,
        { token: adminA.accessToken },
      );
      expect(list.status, list.text).toBe(200);
      expect(bodyOf(list).count).toBe(1);
    });

    it("a spent refresh token replayed on the other process revokes the family on both", async () => {
      const email = uniqueEmail("multi-refresh");
      const user = await signupAndLogin(a.url, email);

      const rotated = await api(b.url, "POST", "/api/auth/refresh", {
        body: { refreshToken: user.refreshToken },
      });
      expect(rotated.status, rotated.text).toBe(200);
      const next = bodyOf(rotated) as { accessToken: string; refreshToken: string };
      expect(next.refreshToken).not.toBe(user.refreshToken);
      expect((await api(a.url, "GET", "/api/users/me", { token: next.accessToken })).status).toBe(
        200,
      );

      // Reuse of the spent token on A: refused, and the whole family is revoked.
      const replay = await api(a.url, "POST", "/api/auth/refresh", {
        body: { refreshToken: user.refreshToken },
      });
      expect(replay.status, replay.text).toBe(401);
      expect(bodyOf(replay).code).toBe("UNAUTHENTICATED");

      for (const server of [a, b]) {
        const refresh = await api(server.url, "POST", "/api/auth/refresh", {
          body: { refreshToken: next.refreshToken },
        });
        expect(refresh.status, `refresh with the family's live token on ${server.port}`).toBe(401);
        const me = await api(server.url, "GET", "/api/users/me", { token: next.accessToken });
        expect(me.status, `access token of the revoked family on ${server.port}`).toBe(401);
      }
      // The family is gone, not the account: a new login works on either process.
      const again = await login(b.url, email);
      expect((await api(a.url, "GET", "/api/users/me", { token: again.accessToken })).status).toBe(
        200,
      );
    });

    it("a suspension made through B refuses the user's token on A within a second", async () => {
      const email = uniqueEmail("multi-suspend");
      const user = await signupAndLogin(a.url, email);
      // A now keeps the user's auth state in memory (server/auth/auth-state-cache.ts).
      expect((await api(a.url, "GET", "/api/users/me", { token: user.accessToken })).status).toBe(
        200,
      );
      const admin = await login(b.url, ADMIN_EMAIL);
      const suspend = await api(b.url, "PATCH", `/api/users/${user.id}`, {
        token: admin.accessToken,
        body: { status: "suspended" },
      });
      expect(suspend.status, suspend.text).toBe(200);
      expect(bodyOf(suspend).status).toBe("suspended");
      await expectRefusedWithinASecond(a.url, user.accessToken);

      const me = await api(a.url, "GET", "/api/users/me", { token: user.accessToken });
      expect(me.status, me.text).toBe(401);
      const refresh = await api(a.url, "POST", "/api/auth/refresh", {
        body: { refreshToken: user.refreshToken },
      });
      expect(refresh.status, refresh.text).toBe(401);
      const relogin = await api(a.url, "POST", "/api/auth/token", {
        body: { email, password: PASSWORD },
      });
      expect(relogin.status, relogin.text).not.toBe(200);
    });

    it("ending every session on B refuses the access tokens A holds in memory within a second", async () => {
      const user = await signupAndLogin(a.url, uniqueEmail("multi-logout-all"));
      for (let i = 0; i < 3; i++) {
        const me = await api(a.url, "GET", "/api/users/me", { token: user.accessToken });
        expect(me.status).toBe(200);
      }
      const out = await api(b.url, "POST", "/api/auth/logout-all", { token: user.accessToken });
      expect(out.status, out.text).toBe(200);
      // B made the change: refused there at once.
      expect((await api(b.url, "GET", "/api/users/me", { token: user.accessToken })).status).toBe(
        401,
      );
      await expectRefusedWithinASecond(a.url, user.accessToken);
    });

    it("counts login failures on both processes: the account locks across them", async () => {
      const email = uniqueEmail("multi-lock");
      await signupAndLogin(a.url, email);
      const attempt = (url: string, password: string) =>
        api(url, "POST", "/api/auth/token", { body: { email, password } });
      for (const url of [a.url, b.url, a.url, b.url]) {
        expect((await attempt(url, "wrong-password-attempt")).status).toBe(401);
      }
      // Locked now, on either process: even the right password gets the same 401 body.
      for (const url of [a.url, b.url]) {
        const locked = await attempt(url, PASSWORD);
        expect(locked.status, locked.text).toBe(401);
        expect(bodyOf(locked).code).toBe("INVALID_CREDENTIALS");
      }
    });

    it("delivers each verification mail exactly once with both processes' workers running", async () => {
      const emails = Array.from({ length: 12 }, (_, i) => uniqueEmail(`multi-mail-${i}`));
      await Promise.all(
        emails.map((email, i) =>
          api(i % 2 ? a.url : b.url, "POST", "/api/users/signup", {
            body: { email, password: PASSWORD, firstName: "Mail", lastName: "Once" },
          }),
        ),
      );
      await expectOneMailEach(smtp, emails, 20_000);
    });
  },
);
