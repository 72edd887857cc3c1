import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, type TestApp } from "../helpers/test-app.ts";

let t: TestApp;
let admin: Awaited<ReturnType<TestApp["userWithToken"]>>;

beforeAll(async () => {
  // Private addresses are NOT allowed here: the setting's default.
  t = await createTestApp();
  admin = await t.userWithToken({ role: "AppAdmin" });
});
afterAll(() => t.close());

const post = (payload: Record<string, unknown>, auth = admin.auth) =>
  t.app.inject({ method: "POST", url: "/api/webhooks", headers: auth, payload });

describe("webhook endpoints", () => {
  it("registers over REST, shows the secret once, and never again", async () => {
    const res = await post({
      url: "https://93.184.216.34/hooks",
      eventTypes: ["user.created", "user.created", "user.deleted"],
      description: "CRM",
    });
    expect(res.statusCode).toBe(201);
    const created = res.json();
    expect(created).toMatchObject({
      url: "https://93.184.216.34/hooks",
      eventTypes: ["user.created", "user.deleted"],
      enabled: true,
      description: "CRM",
    });
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const list = await t.app.inject({ method: "GET", url: "/api/webhooks", headers: admin.auth });
    expect(list.statusCode).toBe(200);
    expect(JSON.stringify(list.json())).not.toContain(created.secret.slice(6));
    const one = await t.app.inject({
      method: "GET",
      url: `/api/webhooks/${created.id}`,
      headers: admin.auth,
    });
    expect(one.json()).not.toHaveProperty("secret");
    const audit = await t.db
      .selectFrom("audit_log")
      .select("changes")
      .where("action", "=", "webhook.create")
      .execute();
    expect(JSON.stringify(audit)).not.toContain(created.secret.slice(6));
  });

  it("works through the tRPC door: create, disable, enable, list, delete", async () => {
    const caller = await t.callerFor(admin.user);
    const created = await caller.webhooks.create({
      url: "https://93.184.216.34/other",
      eventTypes: ["organization.created"],
    });
    const disabled = await caller.webhooks.edit({ id: created.id, enabled: false });
    expect(disabled.enabled).toBe(false);
    const enabled = await caller.webhooks.edit({ id: created.id, enabled: true });
    expect(enabled).toMatchObject({ enabled: true, disabledReason: null });
    const page = await caller.webhooks.list({});
    expect(page.value.map((e) => e.id)).toContain(created.id);
    await caller.webhooks.delete({ id: created.id });
    await expect(caller.webhooks.get({ id: created.id })).rejects.toMatchObject({
      code: "NOT_FOUND",
    });
  });

  it("refuses loopback, private, link-local and reserved targets at registration", async () => {
    for (const url of [
      "http://127.0.0.1:8080/hook",
      "http://localhost/hook",
      "http://[::1]/hook",
      "http://[::ffff:127.0.0.1]/hook",
      "http://169.254.169.254/latest/meta-data",
      "http://10.1.2.3/",
      "http://192.168.0.10/",
      "http://[fd00::1]/",
      "http://0.0.0.0/",
      "http://2130706433/",
    ]) {
      const res = await post({ url, eventTypes: ["user.created"] });
      expect(res.statusCode, url).toBe(400);
      expect(res.json()).toMatchObject({ code: "VALIDATION_ERROR", issues: [{ path: "url" }] });
    }
    for (const url of ["ftp://example.com/", "https://user:pw@example.com/", "not a url"]) {
      const res = await post({ url, eventTypes: ["user.created"] });
      expect(res.statusCode, url).toBe(400);
    }
  });

  it("bounds and validates input", async () => {
    const cases = [
      { url: "https://93.184.216.34/", eventTypes: [] },
      { url: "https://93.184.216.34/", eventTypes: ["user.nope"] },
      { url: `https://93.184.216.34/${"a".repeat(2100)}`, eventTypes: ["user.created"] },
      { url: "https://93.184.216.34/", eventTypes: ["user.created"], secret: "mine" },
    ];
    for (const payload of cases) {
      const res = await post(payload);
      expect(res.statusCode).toBe(400);
      expect(res.json().code).toBe("VALIDATION_ERROR");
    }
  });

  it("is for AppAdmins only", async () => {
    const plain = await t.userWithToken({ role: "Admin" });
    const res = await post(
      { url: "https://93.184.216.34/", eventTypes: ["user.created"] },
      plain.auth,
    );
    expect(res.statusCode).toBe(403);
    const list = await t.app.inject({ method: "GET", url: "/api/webhooks", headers: plain.auth });
    expect(list.statusCode).toBe(403);
    const anonymous = await t.app.inject({ method: "GET", url: "/api/webhooks" });
    expect(anonymous.statusCode).toBe(401);
  });

  it("answers 404 for an unknown endpoint on every route", async () => {
    const routes = [
      ["GET", "/api/webhooks/99999"],
      ["PATCH", "/api/webhooks/99999"],
      ["DELETE", "/api/webhooks/99999"],
      ["POST", "/api/webhooks/99999/secret"],
      ["GET", "/api/webhooks/99999/deliveries"],
      ["POST", "/api/webhooks/99999/deliveries/1/redeliver"],
    ] as const;
    for (const [method, url] of routes) {
      const res = await t.app.inject({
        method,
        url,
        headers: admin.auth,
        ...(method === "PATCH" && { payload: { enabled: false } }),
      });
      expect(res.statusCode, `${method} ${url}`).toBe(404);
    }
  });
});

describe("in production", () => {
  it("refuses http URLs", async () => {
    const prod = await createTestApp({ NODE_ENV: "production" });
    try {
      const boss = await prod.userWithToken({ role: "AppAdmin" });
      const res = await prod.app.inject({
        method: "POST",
        url: "/api/webhooks",
        headers: boss.auth,
        payload: { url: "http://93.184.216.34/", eventTypes: ["user.created"] },
      });
      expect(res.statusCode).toBe(400);
    } finally {
      await prod.close();
    }
  });
});
