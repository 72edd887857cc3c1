/**
 * Path ids are exact ASCII digits within the id bound. `/api/users/%201` (a space, trimmed) or
 * `/api/organizations/1.0` once named object 1: another spelling of an id is a 400, on every
 * operation whose path carries an id, and on the tRPC door where the id may be a username.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, type TestApp } from "../helpers/test-app.ts";
import { listOperations, makeTargets, requestFor, send } from "./operations.ts";

let t: TestApp;
let adminToken: string;
beforeAll(async () => {
  t = await createTestApp();
  adminToken = (await t.userWithToken({ role: "AppAdmin" })).accessToken;
});
afterAll(() => t.close());

/** Other spellings of the id `n`: each must be refused, never read as `n`. */
const SPELLINGS = (n: number) => [
  `%20${n}`,
  `${n}%20`,
  `%09${n}`,
  `${n}%0A`,
  `${n}.0`,
  `%2B${n}`,
  `-${n}`,
  `${n}%00`,
  "99999999999",
  "0",
];

const operationsWithIds = listOperations().filter((op) => op.pathParams.length > 0);

describe("path ids on the REST door", () => {
  it("covers every operation with a path id", () => {
    expect(operationsWithIds.length).toBeGreaterThanOrEqual(15);
  });

  for (const operation of operationsWithIds) {
    it(`${operation.key}: another spelling of an id is 400 VALIDATION_ERROR`, async () => {
      const targets = await makeTargets(t);
      const spec = await requestFor(operation, targets);
      for (const name of operation.pathParams) {
        for (const spelling of SPELLINGS(name === "userId" ? targets.user.id : 1)) {
          // Replace this one parameter's segment, keeping the others valid.
          const index = operation.path.split("/").indexOf(`{${name}}`);
          const segments = spec.url.split("/");
          segments[index + 1] = spelling; // +1 for the "/api" prefix
          const res = await send(t, { ...spec, url: segments.join("/") }, adminToken);
          expect(res.statusCode, `${segments.join("/")}: ${res.body}`).toBe(400);
          expect(res.json().code).toBe("VALIDATION_ERROR");
        }
      }
    });
  }
});

describe("GET /users/{id} by id or username", () => {
  it("still finds a user by exact digits and by username", async () => {
    const user = await t.createUser();
    for (const ref of [String(user.id), user.username, user.username.toUpperCase()]) {
      const res = await send(t, { method: "GET", url: `/api/users/${ref}` }, adminToken);
      expect(res.statusCode, ref).toBe(200);
      expect(res.json().id).toBe(user.id);
    }
  });

  it("refuses a padded id on the tRPC door too (caller and HTTP)", async () => {
    const user = await t.createUser();
    const admin = await t.callerFor(await t.createUser({ role: "AppAdmin" }));
    for (const id of [
      ` ${user.id}`,
      `${user.id} `,
      `\t${user.id}`,
      `${user.id}.0`,
      `+${user.id}`,
    ]) {
      await expect(admin.users.get({ id }), JSON.stringify(id)).rejects.toMatchObject({
        apiCode: "VALIDATION_ERROR",
      });
      const res = await t.app.inject({
        method: "GET",
        url: `/trpc/users.get?input=${encodeURIComponent(JSON.stringify({ id }))}`,
        headers: { authorization: `Bearer ${adminToken}` },
      });
      expect(res.statusCode, JSON.stringify(id)).toBe(400);
      expect(res.json().error.data.code).toBe("VALIDATION_ERROR");
    }
  });
});
