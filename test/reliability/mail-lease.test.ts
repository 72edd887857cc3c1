// A mail claimed by a process that is killed (kill -9) mid-send leaves within seconds: another
// process on PostgreSQL, or the restarted process on the embedded database, sends it once the
// dead process's short lease runs out. The SMTP sink holds the first message it gets, so the
// claim is in flight when the process dies; each process has its own sender, so the sink knows
// which process holds the claim.

import { mkdtempSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SMTPServer } from "smtp-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  adminQuery,
  api,
  createDatabase,
  type FreshDatabase,
  killAllServers,
  PASSWORD,
  pgServerUnavailable,
  report,
  type ServerProcess,
  sleep,
  startServer,
  uniqueEmail,
  waitFor,
} from "./helpers.ts";

const unavailable = await pgServerUnavailable();
const LEASE_SECONDS = 3;

/** An SMTP sink that holds (never answers) the first message for `holdFor`, accepts the rest. */
async function startSink() {
  const held: Array<{ to: string; from: string }> = [];
  const delivered: Array<{ to: string; from: string; at: number }> = [];
  let holdFor: string | undefined;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["AUTH", "STARTTLS"],
    logger: false,
    onData(stream, session, done) {
      const to = session.envelope.rcptTo.map((r) => r.address.toLowerCase()).join(",");
      const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : "";
      stream.resume();
      stream.on("end", () => {
        if (to === holdFor && held.length === 0) {
          held.push({ to, from });
          return; // never answered: the sender's claim stays in flight
        }
        delivered.push({ to, from, at: performance.now() });
        done();
      });
    },
  });
  server.on("error", () => {});
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.server.address() as AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}`,
    held,
    delivered,
    hold: (recipient: string) => {
      holdFor = recipient.toLowerCase();
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const signup = async (url: string, email: string) => {
  const res = await api(url, "POST", "/api/users/signup", {
    body: { email, password: PASSWORD, firstName: "Lease", lastName: "Test" },
  });
  expect(res.status, res.text).toBe(201);
};

describe.skipIf(unavailable)(
  `a mail claimed by a killed process${unavailable ? ` — SKIPPED: ${unavailable}` : ""}`,
  { timeout: 240_000 },
  () => {
    let sink: Awaited<ReturnType<typeof startSink>>;
    let database: FreshDatabase;
    let dataDir: string;

    beforeAll(async () => {
      sink = await startSink();
      database = await createDatabase("lease");
      dataDir = mkdtempSync(join(tmpdir(), "users-api-lease-"));
    });

    afterAll(async () => {
      await killAllServers();
      await database?.drop();
      await sink?.close();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it("on PostgreSQL, the other process sends it within seconds, once", async () => {
      const env = (name: string) => ({
        DATABASE_URL: database.url,
        SMTP_URL: sink.url,
        MAIL_FROM: `${name} <${name}@example.com>`,
        MAIL_LEASE_SECONDS: String(LEASE_SECONDS),
      });
      const servers: Record<string, ServerProcess> = {};
      servers.a = await startServer(env("a"));
      servers.b = await startServer(env("b"));

      const email = uniqueEmail("lease-pg").toLowerCase();
      sink.hold(email);
      await signup(servers.a.url, email);
      const claim = await waitFor("a process to be sending the mail", () => sink.held[0], {
        timeoutMs: 20_000,
      });
      const claimer = claim.from.startsWith("a@") ? "a" : "b";
      const other = claimer === "a" ? "b" : "a";
      servers[claimer]?.signal("SIGKILL");
      const killedAt = performance.now();

      const sent = await waitFor(
        "the other process to send the mail",
        () => sink.delivered.find((mail) => mail.to === email),
        { timeoutMs: 60_000, intervalMs: 100 },
      );
      await sleep(2000); // a second copy, if any, would arrive by now
      report("mail-lease-postgres", {
        leaseSeconds: LEASE_SECONDS,
        killToDeliveryMs: sent.at - killedAt,
      });
      expect(sent.from).toBe(`${other}@example.com`);
      expect(sink.delivered.filter((mail) => mail.to === email)).toHaveLength(1);
      const { rows } = await adminQuery(
        database.url,
        "select status, attempts from mail_outbox where recipient = $1",
        [email],
      );
      expect(rows).toEqual([{ status: "sent", attempts: 2 }]);
      // The lease, plus one poll (5 s with LISTEN), plus room for busy cores: not 300 s.
      expect(sent.at - killedAt).toBeLessThan((LEASE_SECONDS + 5 + 7) * 1000);
    });

    it("on the embedded database, the restarted process sends it at once", async () => {
      sink.held.length = 0;
      const env = {
        DATA_DIR: dataDir,
        SMTP_URL: sink.url,
        MAIL_FROM: "embedded <embedded@example.com>",
        MAIL_LEASE_SECONDS: String(LEASE_SECONDS),
      };
      const first = await startServer(env, { readyTimeoutMs: 180_000 });
      const email = uniqueEmail("lease-pglite").toLowerCase();
      sink.hold(email);
      await signup(first.url, email);
      await waitFor("the process to be sending the mail", () => sink.held[0], {
        timeoutMs: 20_000,
      });
      first.signal("SIGKILL");
      await first.exited;
      // The kill left the lock behind: the restart takes it over.
      const second = await startServer(env, { readyTimeoutMs: 180_000 });
      const readyAt = performance.now();
      const sent = await waitFor(
        "the restarted process to send the mail",
        () => sink.delivered.find((mail) => mail.to === email),
        { timeoutMs: 60_000, intervalMs: 100 },
      );
      await sleep(1000);
      report("mail-lease-pglite", {
        leaseSeconds: LEASE_SECONDS,
        readyToDeliveryMs: sent.at - readyAt,
      });
      expect(sink.delivered.filter((mail) => mail.to === email)).toHaveLength(1);
      // Whatever of the lease was left after the restart, plus one poll (1 s), plus room.
      expect(sent.at - readyAt).toBeLessThan((LEASE_SECONDS + 1 + 7) * 1000);
      await second.stop();
    });
  },
);
