/**
 * OWASP API Security Top 10 (2023) — API3:2023 Broken Object Property Level Authorization
 * (excessive data exposure and mass assignment).
 * OWASP ASVS 5.0: V15.3.1 (only the required subset of fields is returned), V15.3.3 (mass
 * assignment: only allowed fields are bound), V2.2.1/V1.5 (input validated against a positive,
 * strict schema), V11.4.x/V14.2.x (password hashes and token hashes never leave the service).
 *
 * 1. A table of representative successful calls, one (or more) per REST operation, each answer
 *    checked against its procedure's output schema with no property beyond it (a zod parse strips
 *    unknown keys, so the answer must deep-equal its own parse), and no body containing a hash or
 *    internal column name.
 * 2. For every operation, from the router: an extra `isAdmin: true` (body for POST/PUT/PATCH,
 *    query for GET/DELETE, an extra form field for the multipart upload) is a 400
 *    VALIDATION_ERROR for an AppAdmin (so no role check stands in the way), over REST and tRPC.
 * Specific mass-assignment fields (role, status, id, passwordHash) on signup, PATCH /users/me and
 * PATCH /users/{id} are covered in test/users/permissions.test.ts ("mass assignment").
 */
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Role } from "../../db/database.ts";
import { ZApiErrorBody } from "../../server/errors/api-errors.ts";
import { testWorker } from "../helpers/mail-harness.ts";
import { authenticator, enrolTotp } from "../helpers/second-factor.ts";
import { softAuthenticator } from "../helpers/soft-authenticator.ts";
import { createTestApp, type TestApp } from "../helpers/test-app.ts";
import {
  listOperations,
  makeTargets,
  multipartImage,
  NEW_PASSWORD,
  type Operation,
  type RequestSpec,
  requestFor,
  SECRETS,
  send,
  type Targets,
  trpcCall,
  trpcInput,
} from "./operations.ts";

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

const operations = listOperations();
const byKey = new Map(operations.map((op) => [op.key, op]));
const op = (key: string) => {
  const found = byKey.get(key);
  if (!found) throw new Error(`No operation ${key}`);
  return found;
};

type Ready = { spec: RequestSpec; accessToken?: string };
type Caller = { user: Targets["user"]; accessToken: string };
type Setup = (caller: Caller, targets: Targets) => Promise<Ready>;

/** The raw token in the newest queued mail of a kind for a user (the worker is not running). */
async function mailedToken(userId: number, kind: string): Promise<string> {
  const row = await t.db
    .selectFrom("mail_outbox")
    .select("payload")
    .where("user_id", "=", userId)
    .where("kind", "=", kind)
    .orderBy("id", "desc")
    .executeTakeFirstOrThrow();
  const link = (row.payload as { link: string }).link;
  return new URL(link).searchParams.get("token") as string;
}

async function uploadImage(accessToken: string) {
  const { payload, contentType } = await multipartImage();
  const res = await t.app.inject({
    method: "POST",
    url: "/api/users/profile/image",
    headers: { authorization: `Bearer ${accessToken}`, "content-type": contentType },
    payload,
  });
  expect(res.statusCode, res.body).toBe(200);
}

const asAppAdmin = (key: string): Setup => {
  return async (caller, targets) => ({
    spec: await requestFor(op(key), targets),
    accessToken: caller.accessToken,
  });
};

const asTarget = (key: string): Setup => {
  return async (_caller, targets) => ({
    spec: await requestFor(op(key), targets),
    accessToken: (await t.login(targets.user)).accessToken,
  });
};

/**
 * A successful call of every REST operation (by default as an AppAdmin at a fresh target), with
 * the setup those that need state get. Extra rows (`… #variant`) add representative variants.
 */
const REPRESENTATIVE: Record<string, Setup> = {
  "POST /auth/password-reset/confirm": async (_caller, targets) => {
    const res = await send(t, await requestFor(op("POST /auth/password-reset"), targets));
    expect(res.statusCode).toBe(202);
    // The mail worker turns the request into the reset mail, and sends it.
    const worker = await testWorker(t);
    await worker.drainOnce();
    const mailed = worker.transport.messages.filter((m) => m.mail.to === targets.user.email);
    const link = mailed[mailed.length - 1]?.mail.link as string;
    const token = new URL(link).searchParams.get("token") as string;
    return {
      spec: {
        method: "POST",
        url: "/api/auth/password-reset/confirm",
        payload: { token, newPassword: NEW_PASSWORD },
      },
    };
  },
  "POST /users/verification/confirm": async (caller, targets) => {
    await t.db
      .updateTable("users")
      .set({ status: "pending", email_verified: false })
      .where("id", "=", targets.user.id)
      .execute();
    const reissue = await send(
      t,
      { method: "POST", url: `/api/users/${targets.user.id}/verification` },
      caller.accessToken,
    );
    expect(reissue.statusCode, reissue.body).toBe(200);
    const token = await mailedToken(targets.user.id, "verification");
    return { spec: { method: "POST", url: "/api/users/verification/confirm", payload: { token } } };
  },
  "POST /users/invitation/accept": async (caller, targets) => {
    const created = await send(t, await requestFor(op("POST /users"), targets), caller.accessToken);
    expect(created.statusCode, created.body).toBe(201);
    const token = await mailedToken(created.json().id, "invitation");
    return {
      spec: {
        method: "POST",
        url: "/api/users/invitation/accept",
        payload: { token, password: NEW_PASSWORD },
      },
    };
  },
  // A live link answers with its account's email, and nothing more.
  "POST /auth/link-state #valid invitation": async (caller, targets) => {
    const created = await send(t, await requestFor(op("POST /users"), targets), caller.accessToken);
    expect(created.statusCode, created.body).toBe(201);
    const token = await mailedToken(created.json().id, "invitation");
    return {
      spec: {
        method: "POST",
        url: "/api/auth/link-state",
        payload: { token, kind: "invitation" },
      },
    };
  },
  "POST /users/{id}/restore": async (caller, targets) => {
    const deleted = await send(
      t,
      { method: "DELETE", url: `/api/users/${targets.user.id}` },
      caller.accessToken,
    );
    expect(deleted.statusCode, deleted.body).toBe(200);
    return asAppAdmin("POST /users/{id}/restore")(caller, targets);
  },
  "POST /users/{id}/invitation": async (caller, targets) => {
    await t.db
      .updateTable("users")
      .set({ status: "invited", email_verified: false })
      .where("id", "=", targets.user.id)
      .execute();
    return asAppAdmin("POST /users/{id}/invitation")(caller, targets);
  },
  "POST /users/{id}/verification": async (caller, targets) => {
    await t.db
      .updateTable("users")
      .set({ email_verified: false })
      .where("id", "=", targets.user.id)
      .execute();
    return asAppAdmin("POST /users/{id}/verification")(caller, targets);
  },
  "DELETE /users/me/sessions/{id}": async (caller) => {
    const second = await t.login(caller.user);
    return {
      spec: {
        method: "DELETE",
        url: `/api/users/me/sessions/${Number(decodeJwt(second.accessToken).sid)}`,
      },
      accessToken: caller.accessToken,
    };
  },
  "DELETE /organizations/{id}": async (caller) => {
    const created = await send(
      t,
      { method: "POST", url: "/api/organizations", payload: { name: "Empty" } },
      caller.accessToken,
    );
    expect(created.statusCode, created.body).toBe(201);
    return {
      spec: { method: "DELETE", url: `/api/organizations/${created.json().id}` },
      accessToken: caller.accessToken,
    };
  },
  "GET /users/profile/image": async (caller, targets) => {
    await uploadImage(caller.accessToken);
    return asAppAdmin("GET /users/profile/image")(caller, targets);
  },
  "DELETE /users/profile/image": async (caller, targets) => {
    await uploadImage(caller.accessToken);
    return asAppAdmin("DELETE /users/profile/image")(caller, targets);
  },
  "GET /users/{id}/profile/image": async (caller, targets) => {
    await uploadImage((await t.login(targets.user)).accessToken);
    return asAppAdmin("GET /users/{id}/profile/image")(caller, targets);
  },
  "POST /users/me/factors/totp/confirm": async (caller) => {
    const started = await send(
      t,
      { method: "POST", url: "/api/users/me/factors/totp" },
      caller.accessToken,
    );
    const phone = authenticator(started.json().otpauthUri);
    return {
      spec: {
        method: "POST",
        url: "/api/users/me/factors/totp/confirm",
        payload: { code: phone.code() },
      },
      accessToken: caller.accessToken,
    };
  },
  "DELETE /users/me/factors/totp": async (caller, targets) => {
    await enrolTotp(t, caller.user);
    return asAppAdmin("DELETE /users/me/factors/totp")(caller, targets);
  },
  "POST /users/me/factors/recovery-codes": async (caller, targets) => {
    await enrolTotp(t, caller.user);
    return asAppAdmin("POST /users/me/factors/recovery-codes")(caller, targets);
  },
  "GET /users/me/factors #with TOTP": async (caller, targets) => {
    await enrolTotp(t, caller.user);
    return asAppAdmin("GET /users/me/factors")(caller, targets);
  },
  "GET /users/{id}/factors #with TOTP": async (caller, targets) => {
    await enrolTotp(t, targets.user);
    return asAppAdmin("GET /users/{id}/factors")(caller, targets);
  },
  "GET /users/import/{jobId}": async (caller, targets) => {
    const started = await send(
      t,
      await requestFor(op("POST /users/import"), targets),
      caller.accessToken,
    );
    expect(started.statusCode, started.body).toBe(202);
    return {
      spec: { method: "GET", url: `/api/users/import/${started.json().jobId}` },
      accessToken: caller.accessToken,
    };
  },
  "GET /users #as a User, $select": async (_caller, targets) => ({
    spec: { method: "GET", url: "/api/users?$select=id,email,role" },
    accessToken: (await t.login(targets.user)).accessToken,
  }),
  "GET /users #$top=1 (nextLink)": async (caller) => ({
    spec: { method: "GET", url: "/api/users?$top=1&$orderby=email desc" },
    accessToken: caller.accessToken,
  }),
  "GET /users/{id} #by username, as self": async (_caller, targets) => ({
    spec: { method: "GET", url: `/api/users/${targets.user.username}` },
    accessToken: (await t.login(targets.user)).accessToken,
  }),
  "GET /audit #after admin actions": async (caller, targets) => {
    await send(
      t,
      {
        method: "PUT",
        url: `/api/users/${targets.user.id}/password`,
        payload: { newPassword: NEW_PASSWORD },
      },
      caller.accessToken,
    );
    await send(
      t,
      { method: "PATCH", url: `/api/users/${targets.user.id}`, payload: { firstName: "Audited" } },
      caller.accessToken,
    );
    return {
      spec: { method: "GET", url: `/api/audit?targetUserId=${targets.user.id}` },
      accessToken: caller.accessToken,
    };
  },
  "POST /users/me/passkeys": async (caller) => {
    const options = await send(
      t,
      { method: "POST", url: "/api/users/me/passkeys/registration-options" },
      caller.accessToken,
    );
    const webauthn = softAuthenticator(t.config.APP_URL).create(options.json());
    return {
      spec: { method: "POST", url: "/api/users/me/passkeys", payload: { name: "New", webauthn } },
      accessToken: caller.accessToken,
    };
  },
  // The target's own passkey, acted on by the target.
  "PATCH /users/me/passkeys/{id}": asTarget("PATCH /users/me/passkeys/{id}"),
  "DELETE /users/me/passkeys/{id}": asTarget("DELETE /users/me/passkeys/{id}"),
  "GET /users/me/passkeys": asTarget("GET /users/me/passkeys"),
  "GET /users/{id}/mail #after mails": async (caller, targets) => {
    await send(t, await requestFor(op("POST /auth/password-reset"), targets));
    await (await testWorker(t)).drainOnce();
    return asAppAdmin("GET /users/{id}/mail")(caller, targets);
  },
};

const RAW_BYTES = new Set(["GET /users/profile/image", "GET /users/{id}/profile/image"]);
/** REST answers NDJSON, one item of the native door's page (`value`) a line. */
const NDJSON = new Set(["GET /users/export"]);

/** Asserts the answer has no property its schema does not declare, at any depth. */
function expectExactly(operation: Operation, body: unknown) {
  expect(operation.output, `${operation.key} has an output schema`).toBeDefined();
  const parsed = operation.output?.safeParse(body);
  expect(parsed?.success, `${operation.key}: ${JSON.stringify(parsed?.error?.issues)}`).toBe(true);
  // zod objects drop unknown keys: anything extra in the answer makes these differ.
  expect(body).toEqual(JSON.parse(JSON.stringify(parsed?.data)));
}

const tableRows = [
  ...operations.map((operation) => ({ key: operation.key, operation })),
  ...Object.keys(REPRESENTATIVE)
    .filter((key) => key.includes(" #"))
    .map((key) => ({ key, operation: op(key.split(" #")[0] as string) })),
];

describe("API3 every answer is exactly its schema, and holds no secret", () => {
  for (const { key, operation } of tableRows) {
    it(`${key} (${operation.procedure})`, async () => {
      const admin = await t.userWithToken({ role: "AppAdmin" as Role });
      const targets = await makeTargets(t);
      const setup = REPRESENTATIVE[key] ?? asAppAdmin(operation.key);
      const ready = await setup(admin, targets);
      const res = await send(t, ready.spec, ready.accessToken);
      expect(res.statusCode, `${key}: ${res.body.slice(0, 300)}`).toBe(operation.successStatus);
      expect(res.body).not.toMatch(SECRETS);
      expect(res.body).not.toMatch(/\bpassword\b|refresh_token|deleted_?[aA]t/);
      if (RAW_BYTES.has(operation.key)) {
        expect(res.headers["content-type"]).toMatch(/^image\/(webp|png|jpeg)$/);
        // The native door's answer for the same image, checked like the JSON ones.
        const caller = await t.callerFor(admin.user);
        const input = trpcInput(operation, ready.spec.url, {});
        expectExactly(operation, await trpcCall(caller, operation, input));
        return;
      }
      if (NDJSON.has(operation.key)) {
        expect(res.headers["content-type"]).toMatch(/^application\/x-ndjson/);
        const value = res.body
          .split("\n")
          .filter((line) => line !== "")
          .map((line) => JSON.parse(line));
        expect(value.length).toBeGreaterThan(0);
        expectExactly(operation, { value });
        return;
      }
      expect(res.headers["content-type"]).toMatch(/^application\/json/);
      expectExactly(operation, res.json());
    });
  }
});

describe("API3 unknown input fields are refused on every operation", () => {
  for (const operation of operations) {
    const where = operation.rawRoute
      ? operation.key === "POST /users/profile/image"
        ? "form field"
        : operation.key.includes("/profile/image")
          ? "skipped"
          : "query" // the import's file body and the export take their parameters in the query
      : operation.method === "GET" || (operation.method === "DELETE" && !operation.bodyOnDelete)
        ? "query"
        : "body";
    if (where === "skipped") continue; // raw image GETs take no input beyond the path
    it(`${operation.key}: an extra isAdmin (${where}) → 400 VALIDATION_ERROR, REST and tRPC`, async () => {
      const admin = await t.userWithToken({ role: "AppAdmin" });
      const targets = await makeTargets(t, { emailVerified: false });
      const spec = await requestFor(operation, targets);
      if (where === "body") {
        spec.payload = { ...((spec.payload as object | undefined) ?? {}), isAdmin: true };
      } else if (where === "query") {
        spec.url += `${spec.url.includes("?") ? "&" : "?"}isAdmin=true`;
      } else {
        const { payload, contentType } = await multipartImage();
        const boundary = contentType.split("boundary=")[1] as string;
        const extra = `--${boundary}\r\nContent-Disposition: form-data; name="isAdmin"\r\n\r\ntrue\r\n`;
        spec.payload = Buffer.concat([Buffer.from(extra), payload]);
        spec.headers = { "content-type": contentType };
      }
      const res = await send(t, spec, admin.accessToken);
      expect(res.statusCode, `${operation.key}: ${res.body}`).toBe(400);
      const body = ZApiErrorBody.strict().parse(res.json());
      expect(body.code).toBe("VALIDATION_ERROR");
      // Nothing was created under the payload's email.
      const email = (spec.payload as { email?: string } | undefined)?.email;
      if (operation.key === "POST /users/signup" || operation.key === "POST /users") {
        const stored = await t.db
          .selectFrom("users")
          .select("id")
          .where("email", "=", email as string)
          .execute();
        expect(stored).toEqual([]);
      }

      if (operation.rawRoute) return;
      const caller = await t.callerFor(admin.user);
      const payload = Buffer.isBuffer(spec.payload) ? {} : (spec.payload ?? {});
      const input = {
        ...trpcInput(operation, spec.url.split("?")[0] as string, payload),
        isAdmin: true,
      };
      await expect(trpcCall(caller, operation, input)).rejects.toMatchObject({
        apiCode: "VALIDATION_ERROR",
      });
    });
  }

  it("the unknown-field answer names the field and is the same for JSON null and nested objects", async () => {
    const admin = await t.userWithToken({ role: "AppAdmin" });
    const res = await t.app.inject({
      method: "PATCH",
      url: "/api/users/me",
      headers: admin.auth,
      payload: { firstName: "A", isAdmin: null, profile: { role: "AppAdmin" } },
    });
    expect(res.statusCode).toBe(400);
    const body = ZApiErrorBody.strict().parse(res.json());
    expect(body.code).toBe("VALIDATION_ERROR");
    expect(JSON.stringify(body.issues)).toMatch(/isAdmin|profile|[Uu]nrecognized/);
  });
});
