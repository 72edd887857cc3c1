// Crash durability: the process is SIGKILLed the moment a 2xx arrives. What the 2xx promised
// must be there after a restart on the same data: on the embedded PGlite (same DATA_DIR) and on
// PostgreSQL (same database).

import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase } from "../../db/open.ts";
import {
  api,
  createDatabase,
  type FreshDatabase,
  freePort,
  killAllServers,
  NEW_PASSWORD,
  PASSWORD,
  pgServerUnavailable,
  report,
  type ServerProcess,
  sleep,
  startServer,
  uniqueEmail,
  waitFor,
} from "./helpers.ts";

const pgUnavailable = await pgServerUnavailable();

type MailRow = { kind: string; recipient: string; status: string; user_id: number | null };

type Backend = {
  name: string;
  skip: string | undefined;
  setup: () => Promise<{ env: Record<string, string>; teardown: () => Promise<void> }>;
  /** Reads the mail outbox once no server runs on the data. */
  mailFor: (env: Record<string, string>, userId: number) => Promise<MailRow[]>;
};

const BACKENDS: Backend[] = [
  {
    name: "embedded PGlite (same DATA_DIR)",
    skip: undefined,
    setup: async () => {
      const dir = mkdtempSync(join(tmpdir(), "users-api-durability-"));
      return {
        env: { DATA_DIR: dir },
        teardown: async () => rmSync(dir, { recursive: true, force: true }),
      };
    },
    mailFor: async (env, userId) => {
      const handle = await openDatabase({ dataDir: env.DATA_DIR as string });
      try {
        return (await handle.db
          .selectFrom("mail_outbox")
          .select(["kind", "recipient", "status", "user_id"])
          .where("user_id", "=", userId)
          .execute()) as MailRow[];
      } finally {
        await handle.close();
      }
    },
  },
  {
    name: "PostgreSQL (same database)",
    skip: pgUnavailable,
    setup: async () => {
      const database: FreshDatabase = await createDatabase("durability");
      const dir = mkdtempSync(join(tmpdir(), "users-api-durability-"));
      return {
        env: { DATABASE_URL: database.url, DATA_DIR: dir },
        teardown: async () => {
          await database.drop();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
    mailFor: async (env, userId) => {
      const client = new pg.Client({ connectionString: env.DATABASE_URL });
      await client.connect();
      try {
        const { rows } = await client.query(
          "select kind, recipient, status, user_id from mail_outbox where user_id = $1",
          [userId],
        );
        return rows as MailRow[];
      } finally {
        await client.end();
      }
    },
  },
];

for (const backend of BACKENDS) {
  describe.skipIf(backend.skip)(
    `kill -9 right after a 2xx, on ${backend.name}${backend.skip ? ` — SKIPPED: ${backend.skip}` : ""}`,
    () => {
      let env: Record<string, string>;
      let teardown: () => Promise<void> = async () => {};
      let server: ServerProcess;
      const email = uniqueEmail("durable");
      let userId = 0;
      const restarts: number[] = [];

      /** SIGKILL now, and wait until the process is gone. */
      async function crash() {
        server.signal("SIGKILL");
        const exit = await server.exited;
        expect(exit.signal).toBe("SIGKILL");
      }

      async function restart() {
        const started = performance.now();
        server = await startServer(env, { readyTimeoutMs: 90_000 });
        restarts.push(performance.now() - started);
      }

      beforeAll(async () => {
        ({ env, teardown } = await backend.setup());
        server = await startServer(env);
      });

      afterAll(async () => {
        await killAllServers();
        await teardown();
      });

      it("a signup answered 201 survives (the user and its verification mail)", {
        timeout: 120_000,
      }, async () => {
        const signup = await api(server.url, "POST", "/api/users/signup", {
          body: { email, password: PASSWORD, firstName: "Dura", lastName: "Ble" },
        });
        await crash();
        expect(signup.status, signup.text).toBe(201);
        userId = (signup.body as { id: number }).id;

        await restart();
        const token = await api(server.url, "POST", "/api/auth/token", {
          body: { email, password: PASSWORD },
        });
        expect(token.status, token.text).toBe(200);
        const me = await api(server.url, "GET", "/api/users/me", {
          token: (token.body as { accessToken: string }).accessToken,
        });
        expect(me.body).toMatchObject({ id: userId, email, status: "pending" });
      });

      it("a password change answered 200 survives (new password works, old one not)", {
        timeout: 120_000,
      }, async () => {
        expect(userId, "needs the user of the previous test").toBeGreaterThan(0);
        const token = await api(server.url, "POST", "/api/auth/token", {
          body: { email, password: PASSWORD },
        });
        expect(token.status, token.text).toBe(200);
        const change = await api(server.url, "PUT", "/api/users/password", {
          token: (token.body as { accessToken: string }).accessToken,
          body: { currentPassword: PASSWORD, newPassword: NEW_PASSWORD },
        });
        await crash();
        expect(change.status, change.text).toBe(200);

        await restart();
        const fresh = await api(server.url, "POST", "/api/auth/token", {
          body: { email, password: NEW_PASSWORD },
        });
        expect(fresh.status, fresh.text).toBe(200);
        const stale = await api(server.url, "POST", "/api/auth/token", {
          body: { email, password: PASSWORD },
        });
        expect(stale.status, stale.text).toBe(401);
      });

      it("a mail queued while SMTP was down goes out after a crash and a restart", {
        timeout: 120_000,
      }, async () => {
        await crash();
        // Nothing listens on this port: every attempt fails and the mail stays queued.
        server = await startServer({ ...env, SMTP_URL: `smtp://127.0.0.1:${await freePort()}` });
        const recipient = uniqueEmail("durable-mail");
        const signup = await api(server.url, "POST", "/api/users/signup", {
          body: { email: recipient, password: PASSWORD, firstName: "Mail", lastName: "Later" },
        });
        expect(signup.status, signup.text).toBe(201);
        await sleep(300);
        await crash();

        await restart(); // without SMTP_URL: mail is written to DATA_DIR/mail/*.eml
        const mailDir = join(env.DATA_DIR as string, "mail");
        const delivered = () =>
          existsSync(mailDir) &&
          readdirSync(mailDir).some((file) =>
            readFileSync(join(mailDir, file), "utf8").includes(recipient),
          );
        await waitFor(`the mail to ${recipient}`, delivered, { timeoutMs: 30_000 });
      });

      it("the verification mail row queued by the signup is in mail_outbox", async () => {
        expect(userId, "needs the user of the first test").toBeGreaterThan(0);
        // PGlite is single-process: the server lets go of the files first.
        await server.stop();
        const mails = await backend.mailFor(env, userId);
        expect(mails).toEqual([
          expect.objectContaining({ kind: "verification", recipient: email, user_id: userId }),
        ]);
        report(`durability ${backend.name}`, {
          restarts: restarts.length,
          restartToReadyMs: restarts.map((ms) => Math.round(ms)).join("/"),
          mailStatus: mails[0]?.status ?? "none",
        });
      });
    },
  );
}
