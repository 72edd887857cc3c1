import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RESET_REQUEST_KIND } from "../../server/mail/reset-requests.ts";
import { testWorker } from "../helpers/mail-harness.ts";
import { createTestApp, type TestApp } from "../helpers/test-app.ts";

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ RATE_LIMIT: "on" });
});
afterAll(() => t.close());

describe("POST /api/auth/password-reset with rate limits on", () => {
  it("queues nothing for a second request within 60 s, and answers it the same (202)", async () => {
    const user = await t.createUser({ email: "twice@mail.test" });
    const ask = () =>
      t.app.inject({
        method: "POST",
        url: "/api/auth/password-reset",
        payload: { email: user.email },
      });
    const first = await ask();
    const second = await ask();
    expect(first.statusCode).toBe(202);
    expect(second.statusCode).toBe(202);
    expect(second.body).toBe(first.body);
    const requests = await t.db
      .selectFrom("mail_outbox")
      .select("id")
      .where("kind", "=", RESET_REQUEST_KIND)
      .where("recipient", "=", user.email)
      .execute();
    expect(requests).toHaveLength(1);
    await (await testWorker(t)).drainOnce();
    const rows = await t.db
      .selectFrom("mail_outbox")
      .select("id")
      .where("user_id", "=", user.id)
      .execute();
    expect(rows).toHaveLength(1);
  });
});
