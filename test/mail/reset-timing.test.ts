/**
 * POST /auth/password-reset must not tell, by how long it takes, whether an address has an
 * account: the request path does the same work for every address (rate counters and one outbox
 * row) and the mail worker resolves the address afterwards. Measured as interleaved pairs
 * (known, unknown) through each door, compared with a rank test; then the known addresses get
 * exactly one reset mail each and the unknown ones none.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { UserRow } from "../../db/users.ts";
import { testWorker } from "../helpers/mail-harness.ts";
import { mannWhitneyZ, median } from "../helpers/rank-test.ts";
import { createTestApp, type TestApp } from "../helpers/test-app.ts";

const PAIRS = 40;
const WARM_UP = 6;

let t: TestApp;
beforeAll(async () => {
  // The limits stay on: their counters are part of what each request costs.
  t = await createTestApp({ RATE_LIMIT: "on", RESET_LIMIT_PER_IP: "100000" });
});
afterAll(() => t.close());

/** Each door's request, and its success status (tRPC answers 200). */
const DOORS = {
  rest: { url: "/api/auth/password-reset", status: 202 },
  trpc: { url: "/trpc/auth.passwordReset", status: 200 },
};

let unique = 0;
const unknownAddress = (door: string) =>
  `nobody-${door}-${Date.now().toString(36)}-${++unique}@mail.test`;

async function timed(door: keyof typeof DOORS, email: string): Promise<number> {
  const { url, status } = DOORS[door];
  const started = performance.now();
  const res = await t.app.inject({ method: "POST", url, payload: { email } });
  const ms = performance.now() - started;
  expect(res.statusCode, res.body).toBe(status);
  return ms;
}

describe.each(Object.keys(DOORS) as Array<keyof typeof DOORS>)(
  "password reset timing (%s)",
  (door) => {
    it(`known and unknown addresses take as long (${PAIRS} interleaved pairs, Mann–Whitney |z| < 3), and only the known get a mail`, async () => {
      const known: UserRow[] = [];
      for (let i = 0; i < PAIRS + WARM_UP; i++) {
        known.push(
          await t.createUser({ email: `known-${door}-${i}-${Date.now().toString(36)}@mail.test` }),
        );
      }
      const unknown = Array.from({ length: PAIRS + WARM_UP }, () => unknownAddress(door));

      const knownMs: number[] = [];
      const unknownMs: number[] = [];
      for (let i = 0; i < PAIRS + WARM_UP; i++) {
        const k = () => timed(door, (known[i] as UserRow).email);
        const u = () => timed(door, unknown[i] as string);
        // Alternate which goes first, so drift in load falls on both sides alike.
        const [a, b] = i % 2 === 0 ? [await k(), await u()] : [await u(), await k()].reverse();
        if (i < WARM_UP) continue;
        knownMs.push(a as number);
        unknownMs.push(b as number);
      }
      const z = mannWhitneyZ(knownMs, unknownMs);
      console.info(
        `password reset ${door} on ${process.env.DATABASE_URL ? "PostgreSQL" : "PGlite"}: ` +
          `known median ${median(knownMs).toFixed(2)} ms, unknown ${median(unknownMs).toFixed(2)} ms, z = ${z.toFixed(2)}`,
      );
      expect(Math.abs(z)).toBeLessThan(3);

      // Off the request path, the worker mails each known address once and no unknown one.
      const worker = await testWorker(t);
      await worker.drainOnce();
      const sentTo = (address: string) =>
        worker.transport.messages.filter((message) => message.mail.to === address);
      for (const user of known) {
        const mails = sentTo(user.email);
        expect(mails, user.email).toHaveLength(1);
        expect(mails[0]?.mail.kind).toBe("password_reset");
      }
      for (const address of unknown) expect(sentTo(address)).toHaveLength(0);
    }, 120_000);
  },
);
