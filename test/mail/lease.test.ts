// A claim is a short lease, renewed while the mail is sent: a slow send keeps its mail, a claim
// whose process died runs out within one lease, and a claimer whose lease ran out can no longer
// change the mail another worker has claimed since.

import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  claimDueMails,
  releaseMails,
  renewMailLeases,
  rescheduleMail,
} from "../../db/mail-outbox.ts";
import {
  createMailTestApp,
  eventually,
  type MailTestApp,
  outboxRow,
  queueTestMails,
  sleep,
  testWorker,
} from "../helpers/mail-harness.ts";

let t: MailTestApp;
/** The first message of each recipient listed here is held this long before it is accepted. */
const holdFirst = new Map<string, number>();

beforeAll(async () => {
  t = await createMailTestApp({
    beforeAccept: async (raw) => {
      for (const [recipient, ms] of holdFirst) {
        if (raw.includes(`To: ${recipient}`)) {
          holdFirst.delete(recipient);
          await sleep(ms);
        }
      }
    },
  });
});
afterAll(() => t.close());

/** Makes the mail's lease run out now, as time would. */
const expireLease = (recipient: string) =>
  t.db
    .updateTable("mail_outbox")
    .set({ next_attempt_at: sql`now() - interval '1 second'` })
    .where("recipient", "=", recipient)
    .execute();

describe("mail leases", () => {
  it("a send three times longer than the lease keeps its mail: the other worker never sends it too", async () => {
    const recipient = "slow-lease@mail.test";
    holdFirst.set(recipient, 3000);
    const workers = await Promise.all(
      [0, 1].map(() => testWorker(t, { leaseSeconds: 1, pollMs: 100 })),
    );
    for (const worker of workers) worker.start();
    try {
      await queueTestMails(t, [recipient]);
      await t.smtp.waitFor((mail) => mail.envelopeTo.includes(recipient), 15_000);
      await sleep(1500); // a second send, if any, would have started by now
    } finally {
      await Promise.all(workers.map((worker) => worker.stop()));
    }
    expect(t.smtp.to(recipient)).toHaveLength(1);
    expect(await outboxRow(t, recipient)).toMatchObject({ status: "sent", attempts: 1 });
  });

  it("a claim whose worker died is sent by another worker once its lease runs out", async () => {
    const recipient = "orphaned@mail.test";
    await queueTestMails(t, [recipient]);
    // Claimed by a worker that then died: nobody renews it.
    const claimed = await claimDueMails(t.db, 10, 1);
    expect(claimed.map((mail) => mail.recipient)).toContain(recipient);
    const at = performance.now();
    const worker = await testWorker(t, { leaseSeconds: 1, pollMs: 100 });
    worker.start();
    try {
      const mail = await t.smtp.waitFor((m) => m.envelopeTo.includes(recipient), 15_000);
      expect(mail.receivedAt - at, "not before its lease ran out").toBeGreaterThan(500);
    } finally {
      await worker.stop();
    }
    expect(t.smtp.to(recipient)).toHaveLength(1);
    expect(await outboxRow(t, recipient)).toMatchObject({ status: "sent", attempts: 2 });
  });

  it("a claimer whose lease ran out cannot renew, reschedule or hand back the newer claim", async () => {
    const recipient = "fenced@mail.test";
    await queueTestMails(t, [recipient]);
    const first = (await claimDueMails(t.db, 100, 30)).find((m) => m.recipient === recipient);
    expect(first).toBeDefined();
    await expireLease(recipient);
    const second = (await claimDueMails(t.db, 100, 30)).find((m) => m.recipient === recipient);
    expect(second).toMatchObject({ id: first?.id, attempts: 2 });
    const claimedAgain = await outboxRow(t, recipient);

    const stale = first as NonNullable<typeof first>;
    await renewMailLeases(t.db, [stale], 300);
    await rescheduleMail(t.db, stale, 0, "late failure of the first claimer");
    await releaseMails(t.db, [stale]);
    expect(await outboxRow(t, recipient)).toEqual(claimedAgain);

    // The current claim still can.
    await releaseMails(t.db, [second as NonNullable<typeof second>]);
    expect(await outboxRow(t, recipient)).toMatchObject({ status: "queued", attempts: 1 });
    const worker = await testWorker(t);
    await worker.drainOnce();
    await eventually(() => expect(t.smtp.to(recipient)).toHaveLength(1));
  });
});
