// Two server processes through PgBouncer (transaction mode) with a real streaming replica made by
// pg_basebackup (replica-cluster.ts): the core flows pass, revocation on one process is honoured
// by the other within a second (LISTEN direct, and through the pooler where the echo check finds
// it deaf), each mail is sent once, a caller reads their own write at once through either
// process, a stopped replica changes no answer, one whose replay is paused is skipped as lagging,
// and /metrics shows the traffic. Then the
// throughput of one and two processes through the pooler with the replica.

import autocannon from "autocannon";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SmtpTestServer, startSmtpServer } from "../helpers/mail-harness.ts";
import {
  adminQuery,
  api,
  bodyOf,
  checkCoreFlows,
  clusterUnavailable,
  createDatabase,
  databaseUrl,
  type FreshDatabase,
  killAllServers,
  type PgBouncer,
  pgBouncerUnavailable,
  pgServerUnavailable,
  report,
  type ServerProcess,
  signupAndLogin,
  startPgBouncer,
  startServer,
  uniqueEmail,
  waitFor,
} from "./helpers.ts";
import { type Replication, startReplication } from "./replica-cluster.ts";

const METRICS_TOKEN = "replica-suite-metrics-token-0123456789ab";
const BENCH_SECONDS = Number(process.env.RELIABILITY_REPLICA_BENCH_SECONDS ?? 5);

const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);

const unavailable = (await pgServerUnavailable()) ?? pgBouncerUnavailable() ?? clusterUnavailable();

describe.skipIf(unavailable)(
  `two processes through PgBouncer with a streaming replica${unavailable ? ` — SKIPPED: ${unavailable}` : ""}`,
  () => {
    let replication: Replication;
    let database: FreshDatabase;
    let bouncer: PgBouncer;
    let smtp: SmtpTestServer;

    beforeAll(async () => {
      replication = await startReplication();
      if (replication.fallbackReason) {
        console.log(`[reliability] replica of a throwaway primary: ${replication.fallbackReason}`);
      }
      database = await createDatabase("replica", replication.primaryUrl);
      bouncer = await startPgBouncer(replication.primaryUrl);
      smtp = await startSmtpServer();
      await waitFor("the new database on the replica", () =>
        adminQuery(replicaUrl(), "select 1").then(() => true),
      );
    });
    afterAll(async () => {
      await killAllServers();
      await bouncer?.destroy();
      await database?.drop();
      replication?.destroy();
      await smtp?.close();
    });

    const replicaUrl = () => databaseUrl(replication.replica.url, database.name);

    function start(listen: Record<string, string>): Promise<ServerProcess> {
      return startServer({
        DATABASE_URL: bouncer.urlFor(database.name),
        DATABASE_REPLICA_URLS: replicaUrl(),
        DATABASE_REPLICA_CHECK_MS: "200",
        DATABASE_REPLICA_MAX_LAG_MS: "1000",
        SMTP_URL: smtp.url,
        LOG_LEVEL: "info",
        METRICS: "on",
        METRICS_TOKEN,
        ...listen,
      });
    }

    const metricsOf = async (server: ServerProcess) =>
      (await api(server.url, "GET", "/metrics", { token: METRICS_TOKEN })).text;

    /** Waits until `pattern` shows in the process's metrics. */
    const waitForMetric = (server: ServerProcess, pattern: RegExp, timeoutMs = 10_000) =>
      waitFor(`${pattern} on ${server.url}`, async () => pattern.test(await metricsOf(server)), {
        timeoutMs,
        intervalMs: 100,
      });

    /** A caller edits on one process and reads at once (get and listing) on the other, in rounds. */
    async function expectOwnWritesAtOnce(a: ServerProcess, b: ServerProcess, rounds: number) {
      const user = await signupAndLogin(a.url, uniqueEmail("ryw"));
      for (let round = 0; round < rounds; round++) {
        const [writer, reader] = round % 2 ? [a, b] : [b, a];
        const firstName = `Round ${round}`;
        const edit = await api(writer.url, "PATCH", "/api/users/me", {
          token: user.accessToken,
          body: { firstName },
        });
        expect(edit.status, edit.text).toBe(200);
        const me = await api(reader.url, "GET", "/api/users/me", { token: user.accessToken });
        expect(bodyOf(me).firstName, `round ${round}: get`).toBe(firstName);
        const listed = await api(
          reader.url,
          "GET",
          `/api/users?$filter=${encodeURIComponent(`id eq ${user.id}`)}`,
          { token: user.accessToken },
        );
        const rows = bodyOf(listed).value as { firstName: string }[];
        expect(rows[0]?.firstName, `round ${round}: listing`).toBe(firstName);
      }
    }

    /** GET /me and a listing from a caller who does not write, on both processes. */
    async function readsOf(servers: ServerProcess[], token: string): Promise<string[]> {
      const answers = await Promise.all(
        servers.flatMap((server) => [
          api(server.url, "GET", "/api/users/me", { token }),
          api(server.url, "GET", "/api/users?$orderby=id%20asc&$top=50&$select=id,email", {
            token,
          }),
        ]),
      );
      return answers.map((answer) => `${answer.status} ${answer.text}`);
    }

    it("with LISTEN direct: core flows, own writes at once, replica reads, a stopped replica changes no answer, a lagging one is skipped", async () => {
      const listen = { DATABASE_LISTEN_URL: database.url };
      const [a, b] = await Promise.all([start(listen), start(listen)]);
      for (const server of [a, b]) {
        await waitForMetric(server, /^db_replica_usable\{replica="replica-1"\} 1$/m);
      }
      await checkCoreFlows(a, b, smtp, "replica-direct");
      await expectOwnWritesAtOnce(a, b, 30);

      // Someone who only reads: answered by the replica on both processes.
      const reader = await signupAndLogin(a.url, uniqueEmail("reader"));
      await new Promise((resolve) => setTimeout(resolve, 600)); // the signup replayed and checked
      const expected = await readsOf([a, b], reader.accessToken);
      expect(expected.every((answer) => answer.startsWith("200 "))).toBe(true);
      for (const server of [a, b]) {
        const metrics = await metricsOf(server);
        expect(metrics).toMatch(/^db_reads_routed\{reason="replica"\} [1-9]/m);
        expect(metrics).toMatch(/^db_queries\{database="replica-1",role="replica"\} [1-9]/m);
        expect(metrics).toMatch(/^db_queries\{database="primary",role="primary"\} [1-9]/m);
        expect(metrics).toMatch(/^db_reads_routed\{reason="own_write"\} [1-9]/m);
        expect(metrics).toMatch(/^http_request_duration_seconds_count\{door="rest"/m);
      }

      // The replica stops while reads go on: every answer is the same (the primary takes over).
      const during = readsOf([a, b], reader.accessToken);
      replication.replica.stop("fast");
      expect(await during).toEqual(expected);
      expect(await readsOf([a, b], reader.accessToken)).toEqual(expected);
      for (const server of [a, b]) {
        await waitForMetric(server, /^db_replica_usable\{replica="replica-1"\} 0$/m);
        expect(await metricsOf(server)).toMatch(
          /^db_replica_skipped_checks\{replica="replica-1",reason="down"\} [1-9]/m,
        );
      }
      expect(await readsOf([a, b], reader.accessToken)).toEqual(expected);
      await expectOwnWritesAtOnce(a, b, 4);

      // Back: it catches up and serves reads again.
      replication.replica.start();
      for (const server of [a, b]) {
        await waitForMetric(server, /^db_replica_usable\{replica="replica-1"\} 1$/m, 20_000);
      }
      expect(await readsOf([a, b], reader.accessToken)).toEqual(expected);

      // Replay paused while writes go on: the replica falls behind, is skipped as lagging past
      // DATABASE_REPLICA_MAX_LAG_MS, and callers still read their own writes at once.
      await adminQuery(replicaUrl(), "select pg_wal_replay_pause()");
      try {
        const writer = await signupAndLogin(a.url, uniqueEmail("lag"));
        const started = performance.now();
        for (const server of [a, b]) {
          await waitFor(
            "the paused replica skipped as lagging",
            async () => {
              await api(server.url, "PATCH", "/api/users/me", {
                token: writer.accessToken,
                body: { lastName: `Lag ${Math.round(performance.now())}` },
              });
              return /^db_replica_skipped_checks\{replica="replica-1",reason="lagging"\} [1-9]/m.test(
                await metricsOf(server),
              );
            },
            { timeoutMs: 10_000, intervalMs: 100 },
          );
        }
        report("replica lag detection", { ms_until_both_skip: performance.now() - started });
        for (const server of [a, b]) {
          expect(await metricsOf(server)).toMatch(/^db_replica_usable\{replica="replica-1"\} 0$/m);
        }
        await expectOwnWritesAtOnce(a, b, 4);
      } finally {
        await adminQuery(replicaUrl(), "select pg_wal_replay_resume()");
      }
      for (const server of [a, b]) {
        await waitForMetric(server, /^db_replica_usable\{replica="replica-1"\} 1$/m, 20_000);
      }
      for (const server of [a, b]) {
        expect(server.output()).not.toContain("does not echo");
        await server.stop();
      }
    });

    it("with LISTEN through the pooler (deaf): revocation within a second, and every read on the primary", async () => {
      const [a, b] = await Promise.all([start({}), start({})]);
      await waitFor("the deaf-channel warning", () => a.output().includes("does not echo"), {
        timeoutMs: 5000,
      });
      await checkCoreFlows(a, b, smtp, "replica-deaf");
      await expectOwnWritesAtOnce(a, b, 10);
      for (const server of [a, b]) {
        const metrics = await metricsOf(server);
        expect(metrics).toMatch(/^db_reads_routed\{reason="channel_deaf"\} [1-9]/m);
        expect(metrics).toMatch(/^db_reads_routed\{reason="replica"\} 0$/m);
        await server.stop();
      }
    });

    it("throughput through the pooler with the replica: one and two processes", async () => {
      const listen = { DATABASE_LISTEN_URL: database.url };
      const servers = await Promise.all([start(listen), start(listen)]);
      const reader = await signupAndLogin(servers[0]?.url as string, uniqueEmail("bench"));
      for (const server of servers) {
        await waitForMetric(server, /^db_replica_usable\{replica="replica-1"\} 1$/m);
      }
      await new Promise((resolve) => setTimeout(resolve, 600));
      const figures: Record<string, number> = {};
      for (const count of [1, 2]) {
        for (const [name, path] of [
          ["me", "/api/users/me"],
          ["list", "/api/users?$top=20&$orderby=id%20asc"],
        ] as const) {
          // 16 connections in all, shared out among the processes (a load balancer's part).
          const results = await Promise.all(
            servers.slice(0, count).map((server) =>
              autocannon({
                url: `${server.url}${path}`,
                headers: { authorization: `Bearer ${reader.accessToken}` },
                connections: 16 / count,
                duration: BENCH_SECONDS,
              }),
            ),
          );
          for (const result of results) {
            expect(result.non2xx + result.errors + result.timeouts, `${name} x${count}`).toBe(0);
          }
          figures[`${name}_${count}proc_rps`] = sum(results.map((r) => r.requests.average));
          figures[`${name}_${count}proc_p99_ms`] = Math.max(...results.map((r) => r.latency.p99));
        }
      }
      report("replica throughput (PgBouncer, 16 connections)", figures);
      const metrics = await metricsOf(servers[0] as ServerProcess);
      expect(metrics).toMatch(/^db_reads_routed\{reason="replica"\} [1-9]\d{2,}/m);
      for (const server of servers) await server.stop();
    });
  },
);
