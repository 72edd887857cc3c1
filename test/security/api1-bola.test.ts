/**
 * OWASP API Security Top 10 (2023) — API1:2023 Broken Object Level Authorization.
 * OWASP ASVS 5.0: V8.2.2 (data-specific access: no IDOR/BOLA), V8.2.1 (function-level access
 * for the object routes), V8.3.1 (authorization enforced at a trusted service layer, on both
 * doors), V8.2.3 (field-level: no other user's data in any answer).
 *
 * Every operation whose path takes an id (`{id}` or `{userId}`) is discovered from the router and
 * aimed, by a plain User in no organization (A), at another user's objects (B: B's user id, B's
 * session id, an organization B belongs to). A must get 403 or 404 and never B's email or
 * username, through REST and through the native tRPC caller, and B must be unchanged afterwards.
 * Stranger-by-username and list visibility are covered in test/users/permissions.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ZApiErrorBody } from "../../server/errors/api-errors.ts";
import { createTestApp, type TestApp } from "../helpers/test-app.ts";
import {
  listOperations,
  makeTargets,
  multipartImage,
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

const operationsWithIds = listOperations().filter((op) =>
  op.pathParams.some((name) => name === "id" || name === "userId"),
);

/** B, with an image of their own, so a 404 can only mean "not yours to see". */
async function victim(): Promise<Targets & { accessToken: string }> {
  const targets = await makeTargets(t);
  const { accessToken } = await t.login(targets.user);
  const { payload, contentType } = await multipartImage();
  const upload = await t.app.inject({
    method: "POST",
    url: "/api/users/profile/image",
    headers: { authorization: `Bearer ${accessToken}`, "content-type": contentType },
    payload,
  });
  expect(upload.statusCode, upload.body).toBe(200);
  return { ...targets, accessToken };
}

const snapshot = async (targets: Targets) => ({
  user: await t.db
    .selectFrom("users")
    .selectAll()
    .where("id", "=", targets.user.id)
    .executeTakeFirstOrThrow(),
  session: await t.db
    .selectFrom("sessions")
    .selectAll()
    .where("id", "=", targets.sessionId)
    .executeTakeFirstOrThrow(),
  memberships: await t.db
    .selectFrom("memberships")
    .selectAll()
    .where("user_id", "=", targets.user.id)
    .execute(),
  organizations: await t.db
    .selectFrom("organizations")
    .selectAll()
    .where("id", "=", targets.organizationId)
    .execute(),
  image: await t.db
    .selectFrom("profile_images")
    .select("user_id")
    .where("user_id", "=", targets.user.id)
    .execute(),
  passkeys: await t.db
    .selectFrom("passkeys")
    .select(["id", "name", "counter"])
    .where("user_id", "=", targets.user.id)
    .execute(),
});

describe("API1 BOLA: a plain User aimed at another user's objects", () => {
  it("discovers the id-taking operations from the router", () => {
    const keys = operationsWithIds.map((op) => op.key);
    // A floor, not the list: new id-taking operations join the test automatically.
    expect(keys).toEqual(
      expect.arrayContaining([
        "GET /users/{id}",
        "PATCH /users/{id}",
        "DELETE /users/{id}",
        "POST /users/{id}/restore",
        "PUT /users/{id}/password",
        "POST /users/{id}/verification",
        "POST /users/{id}/invitation",
        "GET /users/{id}/accessible-organizations",
        "GET /users/{id}/mail",
        "DELETE /users/me/sessions/{id}",
        "GET /users/{id}/profile/image",
        "PUT /organizations/{id}/members/{userId}",
        "DELETE /organizations/{id}/members/{userId}",
      ]),
    );
    expect(keys.length).toBeGreaterThanOrEqual(13);
  });

  for (const operation of operationsWithIds) {
    it(`${operation.key} (${operation.procedure}): 403/404 over REST and tRPC, no data of B, B unchanged`, async () => {
      const attacker = await t.userWithToken();
      const b = await victim();
      // An unverified B, so reissue verification is not refused for being verified already.
      await t.db
        .updateTable("users")
        .set({ email_verified: false })
        .where("id", "=", b.user.id)
        .execute();
      const before = await snapshot(b);

      const spec = await requestFor(operation, b);
      const res = await send(t, spec, attacker.accessToken);
      expect([403, 404], `${operation.key}: ${res.body}`).toContain(res.statusCode);
      const body = ZApiErrorBody.strict().parse(res.json());
      expect(["UNAUTHORIZED", "USER_NOT_FOUND", "NOT_FOUND"]).toContain(body.code);
      expect(res.body).not.toContain(b.user.email);
      expect(res.body).not.toContain(b.user.username);
      expect(res.body).not.toMatch(SECRETS);

      // The native door, same procedure, same answer.
      const caller = await t.callerFor(attacker.user);
      const input = trpcInput(
        operation,
        spec.url,
        Buffer.isBuffer(spec.payload) ? {} : (spec.payload ?? {}),
      );
      const error = await trpcCall(caller, operation, input).then(
        (value) => ({ value }),
        (e: unknown) => e,
      );
      expect(error, `${operation.procedure} over tRPC`).toMatchObject({
        apiCode: body.code,
      });
      expect(JSON.stringify(error)).not.toContain(b.user.email);

      expect(await snapshot(b)).toEqual(before);
      // B's token still works: nothing was revoked on A's say-so.
      const me = await t.app.inject({
        method: "GET",
        url: "/api/users/me",
        headers: { authorization: `Bearer ${b.accessToken}` },
      });
      expect(me.statusCode).toBe(200);
    });
  }

  it("a stranger's id and a non-existent id get the same answer (no existence oracle)", async () => {
    const attacker = await t.userWithToken();
    const b = await victim();
    for (const url of [`/api/users/${b.user.id}`, `/api/users/${b.user.id}/profile/image`]) {
      const real = await t.app.inject({ method: "GET", url, headers: attacker.auth });
      const missing = await t.app.inject({
        method: "GET",
        url: url.replace(String(b.user.id), "2147483000"),
        headers: attacker.auth,
      });
      expect(real.statusCode).toBe(404);
      expect(real.json()).toEqual(missing.json());
    }
  });
});
