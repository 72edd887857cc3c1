import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EmailTokenKind } from "../../db/database.ts";
import { replaceEmailToken } from "../../db/email-tokens.ts";
import type { UserRow } from "../../db/users.ts";
import { hashToken, randomToken } from "../../server/auth/opaque-tokens.ts";
import { createTestApp, type TestApp } from "../helpers/test-app.ts";

// POST /api/auth/link-state (auth.linkState): whether an emailed link still works, asked when a
// landing page opens. It must read only: never spend the token, never extend it.

const NEW_PASSWORD = "copper-meadow-silent-83-falcon";

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

/** A fresh link of the kind for the user, as a mail would carry it. */
async function issue(user: UserRow, kind: EmailTokenKind): Promise<string> {
  const token = randomToken();
  await replaceEmailToken(t.db, {
    userId: user.id,
    kind,
    tokenHash: hashToken(token),
    ttlSeconds: 3600,
  });
  return token;
}

const tokenRow = (token: string) =>
  t.db
    .selectFrom("email_tokens")
    .select(["user_id", "kind", "expires_at", "used_at"])
    .where("token_hash", "=", hashToken(token))
    .executeTakeFirstOrThrow();

type Kind = "invitation" | "password_reset";

/** The answer through both doors, which must agree. */
async function linkState(token: string, kind: Kind) {
  const rest = await t.app.inject({
    method: "POST",
    url: "/api/auth/link-state",
    payload: { token, kind },
  });
  expect(rest.statusCode, rest.body).toBe(200);
  const caller = await t.callerFor();
  expect(await caller.auth.linkState({ token, kind })).toEqual(rest.json());
  return rest.json() as { state: string; email?: string };
}

describe("POST /api/auth/link-state", () => {
  it("a live invitation: valid, with the invited account's email and nothing else", async () => {
    const invited = await t.createUser({ status: "invited", emailVerified: false });
    const token = await issue(invited, "invitation");
    expect(await linkState(token, "invitation")).toEqual({ state: "valid", email: invited.email });
  });

  it("a live reset link: valid, with the account's email", async () => {
    const user = await t.createUser();
    const token = await issue(user, "password_reset");
    expect(await linkState(token, "password_reset")).toEqual({
      state: "valid",
      email: user.email,
    });
  });

  it("neither spends nor extends the token: the link still works afterwards", async () => {
    const invited = await t.createUser({ status: "invited", emailVerified: false });
    const token = await issue(invited, "invitation");
    const before = await tokenRow(token);
    for (let i = 0; i < 3; i++) await linkState(token, "invitation");
    expect(await tokenRow(token)).toEqual(before);
    expect(before.used_at).toBeNull();

    const accepted = await t.app.inject({
      method: "POST",
      url: "/api/users/invitation/accept",
      payload: { token, password: NEW_PASSWORD },
    });
    expect(accepted.statusCode, accepted.body).toBe(200);
  });

  it("a used link: used, and stays used once its time is up", async () => {
    const user = await t.createUser();
    const token = await issue(user, "password_reset");
    const spent = await t.app.inject({
      method: "POST",
      url: "/api/auth/password-reset/confirm",
      payload: { token, newPassword: NEW_PASSWORD },
    });
    expect(spent.statusCode, spent.body).toBe(200);
    expect(await linkState(token, "password_reset")).toEqual({ state: "used" });

    await t.db
      .updateTable("email_tokens")
      .set({ expires_at: new Date(Date.now() - 60_000) })
      .where("token_hash", "=", hashToken(token))
      .execute();
    expect(await linkState(token, "password_reset")).toEqual({ state: "used" });
  });

  it("an expired link: expired, without its email", async () => {
    const invited = await t.createUser({ status: "invited", emailVerified: false });
    const token = await issue(invited, "invitation");
    await t.db
      .updateTable("email_tokens")
      .set({ expires_at: new Date(Date.now() - 60_000) })
      .where("token_hash", "=", hashToken(token))
      .execute();
    expect(await linkState(token, "invitation")).toEqual({ state: "expired" });
  });

  it("invalid, without an email, for an unknown, replaced or other-kind token, or an account that can no longer use it", async () => {
    expect(await linkState(randomToken(), "invitation")).toEqual({ state: "invalid" });

    const invited = await t.createUser({ status: "invited", emailVerified: false });
    const replaced = await issue(invited, "invitation");
    const newest = await issue(invited, "invitation");
    expect(await linkState(replaced, "invitation")).toEqual({ state: "invalid" });
    // An invitation token is not a reset token, whatever it is sent as.
    expect(await linkState(newest, "password_reset")).toEqual({ state: "invalid" });

    // The account's status is not told: a suspended user's reset link is just invalid.
    const suspended = await t.createUser({ status: "suspended" });
    const reset = await issue(suspended, "password_reset");
    expect(await linkState(reset, "password_reset")).toEqual({ state: "invalid" });
    // An invitation to an account that is active by now (accepted another way) is invalid too.
    const active = await t.createUser();
    expect(await linkState(await issue(active, "invitation"), "invitation")).toEqual({
      state: "invalid",
    });
  });

  it("answers only for the kinds of links that set a password (400 otherwise)", async () => {
    const user = await t.createUser({ status: "pending", emailVerified: false });
    const token = await issue(user, "verification");
    for (const payload of [
      { token, kind: "verification" },
      { token, kind: "email_change" },
      { token },
      { token: "", kind: "invitation" },
      { token: "x".repeat(513), kind: "invitation" },
    ]) {
      const res = await t.app.inject({ method: "POST", url: "/api/auth/link-state", payload });
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(res.json().code).toBe("VALIDATION_ERROR");
    }
  });

  it("the native tRPC door takes the token in a POST body, never in the URL", async () => {
    const invited = await t.createUser({ status: "invited", emailVerified: false });
    const token = await issue(invited, "invitation");
    const res = await t.app.inject({
      method: "POST",
      url: "/trpc/auth.linkState",
      payload: { token, kind: "invitation" },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().result.data).toEqual({ state: "valid", email: invited.email });
    const asQuery = await t.app.inject({
      method: "GET",
      url: `/trpc/auth.linkState?input=${encodeURIComponent(JSON.stringify({ token, kind: "invitation" }))}`,
    });
    expect(asQuery.statusCode).toBe(405);
    expect((await tokenRow(token)).used_at).toBeNull();
  });
});

describe("POST /api/auth/link-state with rate limits on", () => {
  let limited: TestApp;
  beforeAll(async () => {
    limited = await createTestApp({ RATE_LIMIT: "on" });
  });
  afterAll(() => limited.close());

  it("allows 60 checks per client address per 15 minutes, then 429 with Retry-After", async () => {
    const check = (remoteAddress: string) =>
      limited.app.inject({
        method: "POST",
        url: "/api/auth/link-state",
        payload: { token: randomToken(), kind: "password_reset" },
        remoteAddress,
      });
    for (let i = 0; i < 60; i++) expect((await check("203.0.113.7")).statusCode).toBe(200);
    const refused = await check("203.0.113.7");
    expect(refused.statusCode).toBe(429);
    expect(refused.json().code).toBe("RATE_LIMITED");
    expect(Number(refused.headers["retry-after"])).toBeGreaterThan(0);
    // Another address is counted apart.
    expect((await check("203.0.113.8")).statusCode).toBe(200);
  });
});
