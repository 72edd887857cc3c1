import { createServer, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { openDatabase } from "../../db/open.ts";
import { createMailTransport, type MailLog } from "../../server/mail/transport.ts";
import { createMailWorker, DEFAULT_BACKOFF, retryDelaySeconds } from "../../server/mail/worker.ts";
import {
  APP_URL,
  eventually,
  outboxRow,
  queueTestMails,
  type SmtpTestServer,
  silentLog,
  sleep,
  startSmtpServer,
  testWorker,
  unusedPort,
} from "../helpers/mail-harness.ts";
import { createTestApp, PASSWORD, type TestApp } from "../helpers/test-app.ts";

let t: TestApp;
let downPort: number;
const servers: SmtpTestServer[] = [];

beforeAll(async () => {
  // The app's SMTP_URL points at a port nothing listens on yet: the mail server is down.
  downPort = await unusedPort();
  t = await createTestApp({ SMTP_URL: `smtp://127.0.0.1:${downPort}`, APP_URL });
});
afterAll(async () => {
  await t.close();
  for (const server of servers) await server.close();
});

const spyLog = () => ({ debug: vi.fn(), info: vi.fn(), warn: vi.fn(), error: vi.fn() });

describe("retry schedule", () => {
  it("retries within seconds, then backs off, capped at 15 minutes", () => {
    const exact = { ...DEFAULT_BACKOFF, jitter: 0 };
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => retryDelaySeconds(n, exact))).toEqual([
      3, 12, 48, 192, 768, 900, 900,
    ]);
    for (let i = 0; i < 100; i++) {
      const delay = retryDelaySeconds(1, DEFAULT_BACKOFF);
      expect(delay).toBeGreaterThanOrEqual(2.4);
      expect(delay).toBeLessThanOrEqual(3.6);
    }
  });
});

describe("a mail server that is down", () => {
  it("does not slow signup down, and the mail arrives once the server is up", async () => {
    const worker = await testWorker(t, {
      pollMs: 100,
      backoff: { baseSeconds: 0.2, factor: 2, maxSeconds: 1, jitter: 0 },
    });
    worker.start();
    try {
      const signup = (email: string) =>
        t.app.inject({
          method: "POST",
          url: "/api/users/signup",
          payload: { email, password: PASSWORD, firstName: "Pat", lastName: "Ient" },
        });
      // The first password check starts the policy's worker thread: not what is measured here.
      expect((await signup("warm-up@mail.test")).statusCode).toBe(201);
      const started = performance.now();
      const res = await signup("patient@mail.test");
      const elapsed = performance.now() - started;
      expect(res.statusCode).toBe(201);
      expect(elapsed).toBeLessThan(1000);

      const failed = await eventually(async () => {
        const current = await outboxRow(t, "patient@mail.test");
        expect(current.attempts).toBeGreaterThanOrEqual(1);
        expect(current.last_error).toMatch(/ECONNREFUSED|ESOCKET|ECONNECTION/);
        return current;
      });
      expect(failed.status).toBe("queued");

      const smtp = await startSmtpServer(downPort);
      servers.push(smtp);
      const mail = await smtp.waitFor((m) => m.envelopeTo.includes("patient@mail.test"), 5000);
      expect(mail.subject).toBe("Confirm your email address");
      await eventually(async () =>
        expect((await outboxRow(t, "patient@mail.test")).status).toBe("sent"),
      );
    } finally {
      await worker.stop();
    }
  });

  it("gives a hung server (connects, never greets) only the transport's timeout", async () => {
    const sockets = new Set<Socket>();
    const hung: Server = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => hung.listen(0, "127.0.0.1", resolve));
    const port = (hung.address() as { port: number }).port;
    try {
      const transport = createMailTransport(
        { ...t.config, SMTP_URL: `smtp://127.0.0.1:${port}` },
        silentLog(),
        {
          timeoutMs: 300,
        },
      );
      const worker = createMailWorker({
        db: t.db,
        config: t.config,
        transport,
        log: silentLog(),
        kind: "pglite",
        pollMs: 60_000,
      });
      await queueTestMails(t, ["hung@mail.test"]);
      const started = performance.now();
      await worker.drainOnce();
      expect(performance.now() - started).toBeLessThan(2000);
      const current = await outboxRow(t, "hung@mail.test");
      expect(current).toMatchObject({ status: "queued", attempts: 1 });
      expect(current.last_error).toMatch(/timeout|ETIMEDOUT|greeting/i);
      expect(current.next_attempt_at.getTime()).toBeGreaterThan(Date.now());
      // Out of the way of the other tests.
      await t.db.deleteFrom("mail_outbox").where("recipient", "=", "hung@mail.test").execute();
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => hung.close(() => resolve()));
    }
  });
});

describe("a mail that keeps failing", () => {
  it("ends abandoned after maxAttempts, its payload dropped, logged at error level without its link", async () => {
    const bouncing = await startSmtpServer(0, {
      onRcptTo(address, _session, callback) {
        const error = Object.assign(new Error("Mailbox unavailable"), { responseCode: 550 });
        callback(address.address.startsWith("bounce") ? error : null);
      },
    });
    servers.push(bouncing);
    const log = spyLog();
    const worker = await testWorker(t, {
      smtpUrl: bouncing.url,
      log: log as unknown as MailLog,
      maxAttempts: 3,
      backoff: { baseSeconds: 0.01, factor: 1, maxSeconds: 0.01, jitter: 0 },
    });
    const user = await t.createUser({ email: "bounce@mail.test" });
    await (await t.callerFor()).auth.passwordReset({ email: user.email });

    const abandoned = await eventually(async () => {
      await worker.drainOnce();
      const current = await outboxRow(t, "bounce@mail.test");
      expect(current.status).toBe("abandoned");
      return current;
    });
    expect(abandoned).toMatchObject({ attempts: 3, payload: null, sent_at: null });
    expect(abandoned.last_error).toMatch(/550/);
    expect(log.warn).toHaveBeenCalledTimes(2);
    expect(log.error).toHaveBeenCalledTimes(1);
    const logged = JSON.stringify([log.warn.mock.calls, log.error.mock.calls]);
    expect(logged).not.toContain(APP_URL);
    expect(logged).not.toContain("token=");
    expect(bouncing.received).toHaveLength(0);

    await worker.drainOnce();
    expect((await outboxRow(t, "bounce@mail.test")).attempts).toBe(3);
  });
});

describe("stop()", () => {
  it("finishes the mail in flight and hands the rest of its batch back", async () => {
    let inFlight!: () => void;
    const firstInFlight = new Promise<void>((resolve) => {
      inFlight = resolve;
    });
    const slow = await startSmtpServer(0, {}, async () => {
      inFlight();
      await sleep(300);
    });
    servers.push(slow);
    const recipients = ["slow-1@mail.test", "slow-2@mail.test", "slow-3@mail.test"];
    await queueTestMails(t, recipients);
    const worker = await testWorker(t, { smtpUrl: slow.url, pollMs: 60_000, concurrency: 1 });
    worker.start();
    await firstInFlight;
    await worker.stop();

    expect(slow.received.map((mail) => mail.envelopeTo[0])).toEqual(["slow-1@mail.test"]);
    expect(await outboxRow(t, "slow-1@mail.test")).toMatchObject({ status: "sent", attempts: 1 });
    for (const recipient of recipients.slice(1)) {
      const current = await outboxRow(t, recipient);
      expect(current).toMatchObject({ status: "queued", attempts: 0 });
      expect(current.next_attempt_at.getTime()).toBeLessThanOrEqual(Date.now() + 1000);
    }

    // Nothing is sent after stop(), even when woken.
    await queueTestMails(t, ["after-stop@mail.test"]);
    await sleep(200);
    expect(slow.received).toHaveLength(1);
    await worker.drainOnce();
    expect(slow.received).toHaveLength(1);

    // A new worker picks the handed-back mails up.
    const next = await testWorker(t, { smtpUrl: slow.url });
    await next.drainOnce();
    expect(slow.received.map((mail) => mail.envelopeTo[0]).sort()).toEqual(
      [...recipients, "after-stop@mail.test"].sort(),
    );
  });
});

describe("a database that is unreachable", () => {
  it("is logged and retried; it never throws into the process", async () => {
    const broken = await openDatabase({
      databaseUrl: "postgres://nobody@127.0.0.1:1/none",
      dataDir: "memory://",
      connectTimeoutMs: 200,
    });
    const log = spyLog();
    const worker = createMailWorker({
      db: broken.db,
      config: t.config,
      transport: createMailTransport({ ...t.config, SMTP_URL: undefined }, silentLog()),
      log: log as unknown as MailLog,
      kind: "pglite",
      pollMs: 50,
    });
    worker.start();
    await eventually(() => expect(log.warn.mock.calls.length).toBeGreaterThanOrEqual(2));
    await worker.stop();
    expect(log.warn.mock.calls[0]?.[1]).toBe("mail worker pass failed");
    await broken.close();
  });
});
