// The change feed's commit order and the webhook workers' exactly-once delivery through PgBouncer
// in transaction mode: every transaction may land on another server connection, so the feed's
// commit-time position (a transaction-scoped advisory lock, no session state) must still hold,
// and two workers that only poll (LISTEN does not pass the pooler) must still deliver each event
// once, in order per subject.

import { setTimeout as sleep } from "node:timers/promises";
import type { Kysely } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../db/database.ts";
import { listEventsAfter, recordEvent } from "../../db/events.ts";
import { type DatabaseHandle, migrateToLatest, openDatabase } from "../../db/open.ts";
import { insertEndpoint } from "../../db/webhooks.ts";
import { newSigningSecret } from "../../server/webhooks/signature.ts";
import { deliveryCounts, eventually, testWorker } from "../webhooks/helpers.ts";
import { type Receiver, startReceiver } from "../webhooks/receiver.ts";
import {
  createDatabase,
  type FreshDatabase,
  type PgBouncer,
  pgBouncerUnavailable,
  pgServerUnavailable,
  startPgBouncer,
} from "./helpers.ts";

const unavailable = (await pgServerUnavailable()) ?? pgBouncerUnavailable();

describe.skipIf(unavailable)(
  `events and webhooks through PgBouncer (transaction mode)${unavailable ? ` — SKIPPED: ${unavailable}` : ""}`,
  () => {
    let database: FreshDatabase;
    let bouncer: PgBouncer;
    let receiver: Receiver;
    const handles: DatabaseHandle[] = [];
    let a: Kysely<Database>;
    let b: Kysely<Database>;

    beforeAll(async () => {
      database = await createDatabase("webhooks");
      const direct = await openDatabase({ databaseUrl: database.url, dataDir: "memory://" });
      await migrateToLatest(direct.db);
      await direct.close();
      bouncer = await startPgBouncer();
      for (let i = 0; i < 2; i++) {
        handles.push(
          await openDatabase({ databaseUrl: bouncer.urlFor(database.name), dataDir: "memory://" }),
        );
      }
      a = (handles[0] as DatabaseHandle).db;
      b = (handles[1] as DatabaseHandle).db;
      receiver = await startReceiver();
    });
    afterAll(async () => {
      await receiver?.close();
      for (const handle of handles) await handle.close();
      await database?.drop();
      await bouncer?.destroy();
    });

    it("the feed gives every committed event exactly once while writers commit out of id order", async () => {
      const committed = new Set<string>();
      let writing = true;
      const seen: string[] = [];
      const consumer = (async () => {
        let cursor = "0";
        for (;;) {
          const done = !writing;
          const page = await listEventsAfter(b, cursor, 7);
          for (const e of page) seen.push(String(e.data.tag));
          if (page.length > 0) cursor = page.at(-1)?.position as string;
          else if (done) return;
          else await sleep(2);
        }
      })();
      for (let round = 0; round < 10; round++) {
        await Promise.all(
          Array.from({ length: 8 }, async (_, i) => {
            const tag = `r${round}w${i}`;
            try {
              await a.transaction().execute(async (tx) => {
                await recordEvent(tx, { type: "user.updated", subject: `t:${tag}`, data: { tag } });
                await sleep(Math.floor(Math.random() * 15));
                if (i % 4 === 3) throw new Error("rolled back");
              });
              committed.add(tag);
            } catch {}
          }),
        );
      }
      writing = false;
      await consumer;
      expect(new Set(seen).size).toBe(seen.length);
      expect(new Set(seen)).toEqual(committed);
    });

    it("two polling workers deliver each event once, in order per subject", async () => {
      const secret = newSigningSecret();
      receiver.trust(secret);
      await insertEndpoint(a, {
        url: receiver.url,
        description: "",
        eventTypes: ["organization.updated"],
        secret,
      });
      const workers = [a, b].map((db) =>
        testWorker(db, { kind: "postgres", concurrency: 3, batchSize: 5 }),
      );
      for (const worker of workers) worker.start();
      try {
        for (let n = 0; n < 60; n++) {
          await a.transaction().execute((tx) =>
            recordEvent(tx, {
              type: "organization.updated",
              subject: `org:${n % 6}`,
              data: { n },
            }),
          );
        }
        await eventually(async () => (await deliveryCounts(a)).delivered === 60, 30_000);
        await sleep(500);
      } finally {
        await Promise.all(workers.map((w) => w.stop()));
      }
      const ids = receiver.received.map((r) => r.payload.id);
      expect(new Set(ids).size).toBe(60);
      expect(ids).toHaveLength(60);
      for (let subject = 0; subject < 6; subject++) {
        const ns = receiver.received
          .filter((r) => r.payload.subject === `org:${subject}`)
          .map((r) => Number(r.payload.data.n));
        expect(ns).toEqual([...ns].sort((x, y) => x - y));
      }
    });
  },
);
