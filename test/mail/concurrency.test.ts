import { sql } from "kysely";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createMailTestApp,
  databaseUrlOf,
  eventually,
  type MailTestApp,
  queueTestMails,
  sleep,
  testWorker,
} from "../helpers/mail-harness.ts";
import { median } from "../helpers/rank-test.ts";

const onPostgres = Boolean(process.env.DATABASE_URL);

let t: MailTestApp;

beforeAll(async () => {
  t = await createMailTestApp();
});
afterAll(() => t.close());

describe("wake-up on new mail", () => {
  it(`delivers within moments of the request, without waiting for a poll (${onPostgres ? "LISTEN/NOTIFY" : "in-process signal on PGlite"})`, async () => {
    // Polling is pushed out of the way: only the wake-up can deliver this fast.
    const worker = await testWorker(t, { pollMs: 60_000 });
    const handedOver: number[] = [];
    const send = worker.transport.send.bind(worker.transport);
    worker.transport.send = (mail) => {
      handedOver.push(performance.now());
      return send(mail);
    };
    worker.start();
    try {
      await sleep(300); // the LISTEN connection is up
      const user = await t.createUser({ email: "latency@mail.test" });
      const latencies: number[] = [];
      const wakeups: number[] = [];
      for (let i = 0; i < 20; i++) {
        const started = performance.now();
        const res = await t.app.inject({
          method: "POST",
          url: "/api/auth/password-reset",
          payload: { email: user.email },
        });
        expect(res.statusCode).toBe(202);
        await t.smtp.waitFor(() => t.smtp.to(user.email).length === i + 1, 3000);
        const mail = t.smtp.to(user.email)[i];
        latencies.push((mail?.receivedAt ?? Number.NaN) - started);
        wakeups.push((handedOver[i] ?? Number.NaN) - started);
      }
      const middle = median(latencies);
      // smtp-server waits 100 ms before its greeting (early-talker check), which is in the first number.
      console.info(
        `mail latency (${onPostgres ? "PostgreSQL" : "PGlite"}), median of 20: request → handed to nodemailer ${median(wakeups).toFixed(1)} ms; request → received by the SMTP server ${middle.toFixed(1)} ms (min ${Math.min(...latencies).toFixed(1)}, max ${Math.max(...latencies).toFixed(1)})`,
      );
      expect(middle).toBeLessThan(500);
    } finally {
      await worker.stop();
    }
  });
});

describe.skipIf(!onPostgres)("several workers on one PostgreSQL database", () => {
  it("two workers deliver each of 200 queued mails exactly once", async () => {
    const sentBy = [0, 0];
    const workers = await Promise.all(
      [0, 1].map(async (n) => {
        const worker = await testWorker(t, { pollMs: 200 });
        const send = worker.transport.send.bind(worker.transport);
        worker.transport.send = async (mail) => {
          await send(mail);
          sentBy[n] = (sentBy[n] as number) + 1;
        };
        return worker;
      }),
    );
    const before = t.smtp.received.length;
    const recipients = Array.from({ length: 200 }, (_, i) => `bulk-${i}@mail.test`);
    for (const worker of workers) worker.start();
    try {
      await queueTestMails(t, recipients);
      await eventually(
        () => expect(t.smtp.received.length - before).toBeGreaterThanOrEqual(200),
        20_000,
      );
      await sleep(500); // room for any duplicate to show up
    } finally {
      await Promise.all(workers.map((worker) => worker.stop()));
    }
    const bulk = t.smtp.received.slice(before);
    expect(bulk).toHaveLength(200);
    expect(new Set(bulk.map((mail) => mail.messageId)).size).toBe(200);
    expect(new Set(bulk.map((mail) => mail.envelopeTo[0])).size).toBe(200);
    const rows = await t.db
      .selectFrom("mail_outbox")
      .select(["status", "attempts"])
      .where("recipient", "like", "bulk-%")
      .execute();
    expect(rows.every((row) => row.status === "sent" && row.attempts === 1)).toBe(true);
    console.info(`200 mails: worker A sent ${sentBy[0]}, worker B sent ${sentBy[1]}`);
  });

  it("reconnects its LISTEN connection when it drops", async () => {
    const worker = await testWorker(t, { pollMs: 60_000 });
    const url = (await databaseUrlOf(t)) as string;
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    const listeners = async () => {
      const { rows } = await admin.query<{ pid: number }>(
        "select pid from pg_stat_activity where datname = current_database() and query ilike 'LISTEN mail_outbox%' and pid <> pg_backend_pid()",
      );
      return rows.map((row) => row.pid);
    };
    worker.start();
    try {
      const [first] = await eventually(async () => {
        const pids = await listeners();
        expect(pids).toHaveLength(1);
        return pids;
      });
      await admin.query("select pg_terminate_backend($1)", [first]);
      await eventually(async () => {
        const pids = await listeners();
        expect(pids).toHaveLength(1);
        expect(pids[0]).not.toBe(first);
      }, 10_000);

      const started = performance.now();
      await queueTestMails(t, ["after-reconnect@mail.test"]);
      await t.smtp.waitFor((mail) => mail.envelopeTo.includes("after-reconnect@mail.test"), 3000);
      expect(performance.now() - started).toBeLessThan(1000);
    } finally {
      await worker.stop();
      await admin.end();
    }
  });

  it("polls every second while its LISTEN connection hears nothing (a pooler in between)", async () => {
    // LISTEN sent to another database of the server: accepted, and deaf to this one's NOTIFYs.
    const worker = await testWorker(t, { listenUrl: process.env.DATABASE_URL });
    worker.start();
    try {
      await sleep(2000); // past the first missed echo
      const started = performance.now();
      await queueTestMails(t, ["deaf-listen@mail.test"]);
      await t.smtp.waitFor((mail) => mail.envelopeTo.includes("deaf-listen@mail.test"), 3000);
      // A listening worker polls every 5 s; this one must not wait for that.
      expect(performance.now() - started).toBeLessThan(1500);
    } finally {
      await worker.stop();
    }
  });

  it("leaves no LISTEN connection behind after stop()", async () => {
    const worker = await testWorker(t);
    worker.start();
    await sleep(300);
    await worker.stop();
    const { rows } = await sql<{ n: number }>`
      select count(*)::int as n from pg_stat_activity
      where datname = current_database() and query ilike 'LISTEN mail_outbox%'`.execute(t.db);
    // (The app's auth-state memory keeps its own LISTEN auth_state connection: not the worker's.)
    expect(rows[0]?.n).toBe(0);
  });
});
