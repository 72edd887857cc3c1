// Two server processes behind PgBouncer in transaction mode, the most common production pooler
// set-up: every transaction may land on another server connection, so nothing may rely on
// session state, and LISTEN through the pooler is accepted but never delivers. Checked twice:
// with LISTEN on a direct connection (DATABASE_LISTEN_URL), and without it, where the LISTEN
// connection's echo check must notice the deaf channel and keep revocation within a second.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SmtpTestServer, startSmtpServer } from "../helpers/mail-harness.ts";
import {
  api,
  checkCoreFlows,
  createDatabase,
  type FreshDatabase,
  killAllServers,
  type PgBouncer,
  pgBouncerUnavailable,
  pgServerUnavailable,
  type ServerProcess,
  sleep,
  startPgBouncer,
  startServer,
  waitFor,
} from "./helpers.ts";

const METRICS_TOKEN = "pgbouncer-suite-metrics-token-0123456789";

const unavailable = (await pgServerUnavailable()) ?? pgBouncerUnavailable();

describe.skipIf(unavailable)(
  `two processes through PgBouncer (transaction mode)${unavailable ? ` — SKIPPED: ${unavailable}` : ""}`,
  () => {
    let database: FreshDatabase;
    let bouncer: PgBouncer;
    let smtp: SmtpTestServer;

    beforeAll(async () => {
      database = await createDatabase("bouncer");
      bouncer = await startPgBouncer();
      smtp = await startSmtpServer();
    });
    afterAll(async () => {
      await killAllServers();
      await bouncer?.destroy();
      await database?.drop();
      await smtp?.close();
    });

    /** Both processes through the pooler, started at once on the database (both migrate). */
    async function startPair(listen: Record<string, string>): Promise<ServerProcess[]> {
      const env = {
        DATABASE_URL: bouncer.urlFor(database.name),
        SMTP_URL: smtp.url,
        LOG_LEVEL: "info",
        METRICS: "on",
        METRICS_TOKEN,
        ...listen,
      };
      return Promise.all([startServer(env), startServer(env)]);
    }

    it("with LISTEN on a direct connection (DATABASE_LISTEN_URL): core flows, revocation within a second, each mail once", async () => {
      const [a, b] = await startPair({ DATABASE_LISTEN_URL: database.url });
      await sleep(300); // the LISTEN connections hear their first echo
      await checkCoreFlows(a as ServerProcess, b as ServerProcess, smtp, "direct-listen");
      const metrics = await api((a as ServerProcess).url, "GET", "/metrics", {
        token: METRICS_TOKEN,
      });
      expect(metrics.status).toBe(200);
      expect(metrics.text).toMatch(/^logins_total\{outcome="success"\} [1-9]/m);
      expect(metrics.text).toMatch(/^auth_state_reads\{result="hit"\} [1-9]/m);
      expect(metrics.text).toMatch(/^auth_state_memory_trusted 1$/m);
      expect(metrics.text).toMatch(/^db_pool_connections\{state="total"\} [1-9]/m);
      for (const server of [a, b]) {
        expect(server?.output()).not.toContain("does not echo");
        await server?.stop();
      }
    });

    it("with LISTEN through the pooler: the deaf channel is noticed and logged once, revocation stays within a second", async () => {
      const [a, b] = (await startPair({})) as [ServerProcess, ServerProcess];
      await waitFor("the deaf-channel warning", () => a.output().includes("does not echo"), {
        timeoutMs: 5000,
      });
      await checkCoreFlows(a, b, smtp, "pooled-listen");
      const metrics = await api(a.url, "GET", "/metrics", { token: METRICS_TOKEN });
      expect(metrics.text).toMatch(/^auth_state_memory_trusted 0$/m);
      // One warning per LISTEN connection (auth state, mail, webhooks), not one per check.
      const warnings = a
        .output()
        .split("\n")
        .filter((line) => line.includes("does not echo"));
      expect(warnings).toHaveLength(3);
      expect(warnings[0]).toContain("DATABASE_LISTEN_URL");
      for (const server of [a, b]) await server.stop();
    });
  },
);
