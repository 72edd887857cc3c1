import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { notifyMailQueued } from "../../db/mail-outbox.ts";
import { queueTokenMail } from "../../server/mail/token-mail.ts";
import {
  APP_URL,
  createMailTestApp,
  linkIn,
  type MailTestApp,
  outboxRow,
} from "../helpers/mail-harness.ts";
import { PASSWORD } from "../helpers/test-app.ts";

let t: MailTestApp;

beforeAll(async () => {
  t = await createMailTestApp();
});
afterAll(() => t.close());

describe("mail delivery through SMTP", () => {
  it("signup's verification mail arrives with its recipient, subject, APP_URL link and stored Message-ID", async () => {
    const res = await t.app.inject({
      method: "POST",
      url: "/api/users/signup",
      payload: {
        email: "ada@mail.test",
        password: PASSWORD,
        firstName: "Ada",
        lastName: "Lovelace",
      },
    });
    expect(res.statusCode).toBe(201);
    const queued = await outboxRow(t, "ada@mail.test");
    expect(queued.status).toBe("queued");

    await t.worker.drainOnce();

    const [mail, ...others] = t.smtp.to("ada@mail.test");
    expect(others).toHaveLength(0);
    expect(mail?.envelopeTo).toEqual(["ada@mail.test"]);
    expect(mail?.to).toBe("ada@mail.test");
    expect(mail?.from).toBe("Users API <no-reply@localhost>");
    expect(mail?.subject).toBe("Confirm your email address");
    expect(mail?.messageId).toBe(queued.message_id);
    const link = linkIn(mail as NonNullable<typeof mail>, "/verify-email");
    expect(link.url.startsWith(`${APP_URL}/verify-email?token=`)).toBe(true);
    expect(link.token.length).toBeGreaterThanOrEqual(43);
    expect(mail?.text).toContain("valid for 24 hours");
    expect(mail?.html).toContain(`href="${link.url}"`);

    const sent = await outboxRow(t, "ada@mail.test");
    expect(sent).toMatchObject({ status: "sent", payload: null, attempts: 1, last_error: null });
    expect(sent.sent_at).toBeInstanceOf(Date);
  });

  it("an admin's invitation mail carries an accept-invitation link valid for 7 days", async () => {
    const admin = await t.userWithToken({ role: "Admin" });
    const res = await t.app.inject({
      method: "POST",
      url: "/api/users",
      headers: admin.auth,
      payload: { email: "grace@mail.test", firstName: "Grace", lastName: "Hopper" },
    });
    expect(res.statusCode).toBe(201);
    await t.worker.drainOnce();
    const [mail] = t.smtp.to("grace@mail.test");
    expect(mail?.subject).toBe("You have been invited: choose your password");
    expect(linkIn(mail as NonNullable<typeof mail>, "/accept-invitation").url).toMatch(
      new RegExp(`^${APP_URL}/accept-invitation\\?token=`),
    );
    expect(mail?.text).toContain("valid for 7 days");
    expect(mail?.messageId).toBe((await outboxRow(t, "grace@mail.test")).message_id);
  });

  it("a password reset mail carries a reset-password link valid for 1 hour", async () => {
    const user = await t.createUser({ email: "linus@mail.test" });
    const res = await t.app.inject({
      method: "POST",
      url: "/api/auth/password-reset",
      payload: { email: "Linus@Mail.test" },
    });
    expect(res.statusCode).toBe(202);
    await t.worker.drainOnce();
    const [mail] = t.smtp.to(user.email);
    expect(mail?.subject).toBe("Reset your password");
    expect(linkIn(mail as NonNullable<typeof mail>, "/reset-password").token).toMatch(
      /^[A-Za-z0-9_-]{43}$/,
    );
    expect(mail?.text).toContain("valid for 1 hour");
  });

  it("escapes the user's name in the HTML part", async () => {
    const res = await t.app.inject({
      method: "POST",
      url: "/api/users/signup",
      payload: {
        email: "mallory@mail.test",
        password: PASSWORD,
        firstName: `<b>Mal & "Co"</b>`,
        lastName: "X",
      },
    });
    expect(res.statusCode).toBe(201);
    await t.worker.drainOnce();
    const [mail] = t.smtp.to("mallory@mail.test");
    expect(mail?.html).toContain("Hello &lt;b&gt;Mal &amp; &quot;Co&quot;&lt;/b&gt;,");
    expect(mail?.html).not.toContain("<b>Mal");
    expect(mail?.text).toContain(`Hello <b>Mal & "Co"</b>,`);
  });

  it("a rolled-back transaction that queued a mail sends nothing and leaves no token", async () => {
    const user = await t.createUser({ email: "rollback@mail.test" });
    await expect(
      t.db.transaction().execute(async (tx) => {
        await queueTokenMail(tx, t.config, { kind: "password_reset", user, recipient: user.email });
        await notifyMailQueued(tx);
        throw new Error("the change failed");
      }),
    ).rejects.toThrow("the change failed");
    await t.worker.drainOnce();
    expect(t.smtp.to(user.email)).toHaveLength(0);
    const rows = await t.db
      .selectFrom("mail_outbox")
      .select("id")
      .where("user_id", "=", user.id)
      .execute();
    expect(rows).toHaveLength(0);
    const tokens = await t.db
      .selectFrom("email_tokens")
      .select("id")
      .where("user_id", "=", user.id)
      .execute();
    expect(tokens).toHaveLength(0);
  });
});

describe("GET /api/users/{id}/mail", () => {
  it("shows an AppAdmin the user's mails newest first, never their payload", async () => {
    const user = await t.createUser({ email: "listed@mail.test" });
    const anonymous = await t.callerFor();
    await anonymous.auth.passwordReset({ email: user.email });
    await t.worker.drainOnce();
    // A second reset mail, queued as the worker queues it, and not sent yet.
    await t.db
      .transaction()
      .execute((tx) =>
        queueTokenMail(tx, t.config, { kind: "password_reset", user, recipient: user.email }),
      );

    const appAdmin = await t.userWithToken({ role: "AppAdmin" });
    const res = await t.app.inject({
      method: "GET",
      url: `/api/users/${user.id}/mail`,
      headers: appAdmin.auth,
    });
    expect(res.statusCode).toBe(200);
    const { mails } = res.json();
    expect(mails).toHaveLength(2);
    expect(mails[0]).toEqual({
      id: expect.any(Number),
      kind: "password_reset",
      recipient: "listed@mail.test",
      status: "queued",
      attempts: 0,
      createdAt: expect.any(String),
      sentAt: null,
      lastError: null,
    });
    expect(mails[1]).toMatchObject({ status: "sent", attempts: 1, sentAt: expect.any(String) });
    expect(mails[0].id).toBeGreaterThan(mails[1].id);
    expect(res.body).not.toMatch(/token|payload|link/i);

    const viaTrpc = await (await t.callerFor(appAdmin.user)).users.mail({ id: user.id });
    expect(viaTrpc.mails.map((mail) => mail.id)).toEqual(
      mails.map((mail: { id: number }) => mail.id),
    );
    await t.worker.drainOnce();
  });

  it("is for AppAdmins only (403 UNAUTHORIZED for an Admin) and 404 for an unknown user", async () => {
    const admin = await t.userWithToken({ role: "Admin" });
    const res = await t.app.inject({
      method: "GET",
      url: `/api/users/${admin.user.id}/mail`,
      headers: admin.auth,
    });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ code: "UNAUTHORIZED" });

    const appAdmin = await t.userWithToken({ role: "AppAdmin" });
    const missing = await t.app.inject({
      method: "GET",
      url: "/api/users/999999/mail",
      headers: appAdmin.auth,
    });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ code: "USER_NOT_FOUND" });

    const anonymous = await t.app.inject({
      method: "GET",
      url: `/api/users/${admin.user.id}/mail`,
    });
    expect(anonymous.statusCode).toBe(401);
  });
});
