/**
 * Fuzzing across the OWASP API Security Top 10 (2023): API4:2023 (resource consumption: no input
 * makes a request slow), API8:2023 (misconfiguration: no input reaches an unhandled error, so no
 * 5xx and no internals), API10-style injection through every field (SQL/OData strings, prototype
 * keys) and API3:2023 (no secret in any answer).
 * OWASP ASVS 5.0: V1.2.x/V1.3.x (injection prevention: every value a bound parameter), V1.5.x
 * (safe deserialization: `__proto__`/`constructor` refused), V2.2.1 (input validated against a
 * positive schema), V16.5.1/V16.5.4 (errors handled, generic to the consumer, never a crash).
 *
 * For every operation of the router, fast-check builds requests from its input schema's fields:
 * each field absent, valid (from the suite's valid request) or hostile (wrong types, boundary
 * numbers, very long strings, lone surrogates, NUL, RTL marks, injection strings), plus stray
 * keys like `__proto__`, hostile path segments and occasional raw garbage bodies; sent through
 * REST as a fresh AppAdmin. No answer may be a 5xx or take over 2 s. Bounded: NUM_RUNS per
 * operation, one app for the file.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { createTestApp, type TestApp } from "../helpers/test-app.ts";
import {
  listOperations,
  makeTargets,
  type Operation,
  requestFor,
  SECRETS,
  type Targets,
} from "./operations.ts";

const NUM_RUNS = 20;
/** Fixed by default so a run is reproducible; FUZZ_SEED=random (or a number) explores further. */
const BASE_SEED =
  process.env.FUZZ_SEED === "random"
    ? Math.floor(Math.random() * 2 ** 31)
    : Number(process.env.FUZZ_SEED ?? 20_260_602);
const seedFor = (key: string) =>
  [...key].reduce((hash, c) => (Math.imul(hash, 31) + c.charCodeAt(0)) | 0, BASE_SEED);
/** Refused input must be cheap; accepted input may do real work (two argon2 runs for a change). */
const MAX_MS = 2000;
const MAX_MS_ACCEPTED = 5000;

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

const NASTY_STRINGS = [
  "' OR 1=1 --",
  "'; drop table users; --",
  "1; select pg_sleep(5)",
  "admin'--",
  "\u0000",
  "a\u0000b",
  "\ud800",
  "\udfff",
  "x\ud83dy",
  "\u202Eevil\u202C",
  "\u200F\u200E",
  "\uFEFF",
  "ﬀﬁ𝔘𝔫𝔦",
  "😀".repeat(300),
  "<script>alert(1)</script>",
  "$" + "{7*7}{{7*7}}",
  "../../../etc/passwd",
  "%00%ff",
  "\\",
  "'",
  "''",
  "null",
  "__proto__",
  "constructor",
  "toString",
  "NaN",
  "1e309",
  "-0",
  "2147483648",
  "eq eq eq",
  "contains(email,'a') or 1 eq 1",
  "x".repeat(65),
  "x".repeat(2001),
  "a@b.c",
  `${"a".repeat(250)}@example.com`,
];

/** A JSON value as text (so `__proto__` keys survive as own keys). */
const hostileJson: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...NASTY_STRINGS).map((s) => JSON.stringify(s)),
  fc.string({ maxLength: 40 }).map((s) => JSON.stringify(s)),
  fc.string({ unit: "binary", maxLength: 40 }).map((s) => JSON.stringify(s)),
  fc.integer({ min: 0, max: 20_000 }).map((n) => JSON.stringify("y".repeat(n))),
  fc
    .constantFrom(
      0,
      -1,
      1,
      2147483647,
      2147483648,
      -2147483649,
      Number.MAX_SAFE_INTEGER,
      Number.MAX_SAFE_INTEGER + 2,
      1e308,
      -1e308,
      0.5,
      5e-324,
    )
    .map(String),
  fc.integer().map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => JSON.stringify(n)),
  fc.constantFrom(
    "true",
    "false",
    "null",
    "[]",
    "{}",
    '[1,"a",null]',
    '{"__proto__":{"role":"AppAdmin"}}',
    '{"constructor":{"prototype":{"isAdmin":true}}}',
    '{"$gt":""}',
    "123456789012345678901234567890",
    "1e400",
  ),
);

const STRAY_KEYS = ["__proto__", "constructor", "prototype", "isAdmin", "role", "id", "$where", ""];

function shapeOf(operation: Operation): Record<string, z.ZodType> {
  let schema: unknown = operation.input;
  while (schema instanceof z.ZodOptional || schema instanceof z.ZodDefault) {
    schema = schema.unwrap();
  }
  return schema instanceof z.ZodObject ? (schema.shape as Record<string, z.ZodType>) : {};
}

type Fuzzed = {
  fields: Array<[string, string | undefined]>;
  stray: Array<[string, string]>;
  pathValues: Array<string | undefined>;
  garbage: Uint8Array | undefined;
};

function fuzzedArbitrary(operation: Operation, fieldNames: string[]): fc.Arbitrary<Fuzzed> {
  const field = fc.oneof(
    { weight: 1, arbitrary: fc.constant<string | undefined>(undefined) }, // absent
    { weight: 2, arbitrary: fc.constant<string | undefined>("VALID") },
    { weight: 3, arbitrary: hostileJson.map((v): string | undefined => v) },
  );
  return fc.record({
    fields: fc.tuple(
      ...fieldNames.map((name) => field.map((v) => [name, v] as [string, string | undefined])),
    ),
    stray: fc.array(fc.tuple(fc.constantFrom(...STRAY_KEYS), hostileJson), { maxLength: 2 }),
    pathValues: fc.tuple(
      ...operation.pathParams.map(() =>
        fc.oneof(
          { weight: 2, arbitrary: fc.constant<string | undefined>(undefined) },
          {
            weight: 3,
            arbitrary: fc.constantFrom<string | undefined>(
              ...NASTY_STRINGS,
              "0",
              "-1",
              "1.5",
              "99999999999",
              "2147483648",
              "me",
              " ",
            ),
          },
          { weight: 1, arbitrary: fc.string({ maxLength: 30 }).map((s): string | undefined => s) },
        ),
      ),
    ),
    garbage: fc.option(fc.uint8Array({ maxLength: 300 }), { freq: 8, nil: undefined }),
  }) as fc.Arbitrary<Fuzzed>;
}

/** encodeURIComponent, except lone surrogates (which it throws on) go out as raw bytes. */
function encodeSegment(value: string): string {
  try {
    return encodeURIComponent(value);
  } catch {
    return Buffer.from(value, "utf8")
      .toString("latin1")
      .replace(/[^\w-]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
  }
}

const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const JPEG_MAGIC = Buffer.from([0xff, 0xd8, 0xff, 0xe0]);

async function buildRequest(operation: Operation, targets: Targets, fuzz: Fuzzed) {
  const valid = await requestFor(operation, targets);
  const validBody = (
    typeof valid.payload === "object" && !Buffer.isBuffer(valid.payload) ? valid.payload : {}
  ) as Record<string, unknown>;
  // Path: a hostile segment where the fuzzer chose one, the valid target elsewhere.
  const validSegments = valid.url.split("?")[0]?.split("/") ?? [];
  const template = `/api${operation.path}`.split("/");
  let p = 0;
  const url = template
    .map((segment, i) => {
      if (!/^\{\w+\}$/.test(segment)) return segment;
      const hostile = fuzz.pathValues[p++];
      return hostile === undefined ? validSegments[i] : encodeSegment(hostile);
    })
    .join("/");

  const entries: Array<[string, string]> = [];
  for (const [name, choice] of fuzz.fields) {
    if (choice === undefined) continue;
    if (choice === "VALID") {
      if (name in validBody) entries.push([name, JSON.stringify(validBody[name])]);
      continue;
    }
    entries.push([name, choice]);
  }
  entries.push(...fuzz.stray);

  const headers: Record<string, string> = {};
  if (operation.key === "POST /users/import") {
    // The streamed import: its parameters in the query, fuzzed bytes (or a valid line) as the file.
    const query = entries
      .map(([name, json]) => `${encodeSegment(name)}=${encodeSegment(json.replace(/^"|"$/g, ""))}`)
      .join("&");
    headers["content-type"] = "application/x-ndjson";
    const payload = fuzz.garbage ? Buffer.from(fuzz.garbage) : String(valid.payload);
    return { method: operation.method, url: query ? `${url}?${query}` : url, headers, payload };
  }
  if (operation.rawRoute && operation.method === "POST") {
    // The multipart upload: fuzzed bytes as the file, sometimes behind a real magic number.
    const bytes = Buffer.concat([
      fuzz.fields.length % 2 === 0 ? PNG_MAGIC : JPEG_MAGIC,
      Buffer.from(fuzz.garbage ?? []),
    ]);
    const boundary = "----fuzzboundary";
    headers["content-type"] = `multipart/form-data; boundary=${boundary}`;
    const payload = Buffer.concat([
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="f"\r\n\r\n`,
      ),
      bytes,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    return { method: operation.method, url, headers, payload };
  }
  if (operation.method === "GET" || operation.method === "DELETE") {
    const query = entries
      .map(([name, json]) => {
        let value: unknown;
        try {
          value = JSON.parse(json);
        } catch {
          value = json;
        }
        const text = typeof value === "string" ? value : JSON.stringify(value);
        return `${encodeSegment(name)}=${encodeSegment(text)}`;
      })
      .join("&");
    return { method: operation.method, url: query ? `${url}?${query}` : url, headers };
  }
  headers["content-type"] = "application/json";
  if (fuzz.garbage && fuzz.garbage.length > 0) {
    return { method: operation.method, url, headers, payload: Buffer.from(fuzz.garbage) };
  }
  const payload = `{${entries.map(([name, json]) => `${JSON.stringify(name)}:${json}`).join(",")}}`;
  return { method: operation.method, url, headers, payload };
}

const operations = listOperations();

describe("fuzz: every operation, hostile input, as an AppAdmin over REST", () => {
  for (const operation of operations) {
    it(`${operation.key} (${operation.procedure}): never a 5xx, a refusal never over ${MAX_MS} ms`, async () => {
      const targets = await makeTargets(t, { emailVerified: false });
      const fieldNames = Object.keys(shapeOf(operation)).filter(
        (name) => !operation.pathParams.includes(name),
      );
      let slowest = 0;
      await fc.assert(
        fc.asyncProperty(fuzzedArbitrary(operation, fieldNames), async (fuzz) => {
          // A fresh AppAdmin per run: a fuzzed password change or logout-all harms no other run.
          const admin = await t.createUser({ role: "AppAdmin" });
          const { accessToken } = await t.login(admin);
          const request = await buildRequest(operation, targets, fuzz);
          const started = performance.now();
          const res = await t.app.inject({
            ...request,
            headers: { ...request.headers, authorization: `Bearer ${accessToken}` },
          });
          const ms = performance.now() - started;
          if (res.statusCode >= 300) slowest = Math.max(slowest, ms);
          const where = `${request.method} ${request.url.slice(0, 200)} → ${res.statusCode} ${res.body.slice(0, 300)}`;
          expect(res.statusCode, where).toBeLessThan(500);
          expect(ms, where).toBeLessThan(res.statusCode < 300 ? MAX_MS_ACCEPTED : MAX_MS);
          expect(res.body, where).not.toMatch(SECRETS);
          if (res.statusCode >= 400) {
            expect(res.headers["content-type"], where).toMatch(/^application\/json/);
            expect(res.json(), where).toMatchObject({
              code: expect.any(String),
              message: expect.any(String),
            });
          }
        }),
        { numRuns: NUM_RUNS, endOnFailure: true, seed: seedFor(operation.key) },
      );
      expect(slowest).toBeLessThan(MAX_MS);
    });
  }

  it("the database is intact afterwards (no injected statement ran)", async () => {
    const tables = ["users", "sessions", "organizations", "memberships", "audit_log"] as const;
    for (const table of tables) {
      const rows = await t.db
        .selectFrom(table)
        .select((eb) => eb.fn.countAll().as("n"))
        .executeTakeFirst();
      expect(Number(rows?.n)).toBeGreaterThan(0);
    }
    const me = await t.userWithToken();
    expect(
      (await t.app.inject({ method: "GET", url: "/api/users/me", headers: me.auth })).statusCode,
    ).toBe(200);
  });
});

/**
 * PostgreSQL text cannot hold NUL: free text refuses it in the schema (ZText), so it is a 400,
 * never a 500 from the database.
 */
describe("NUL in free text", () => {
  const NUL = "a\u0000b";
  const cases: Array<
    [string, "GET" | "POST" | "PATCH", string, Record<string, unknown> | undefined]
  > = [
    ["users.get by username", "GET", "/api/users/a%00b", undefined],
    ["users.updateMe firstName", "PATCH", "/api/users/me", { firstName: NUL }],
    [
      "users.create lastName",
      "POST",
      "/api/users",
      { email: "nul-create@example.com", firstName: "A", lastName: NUL },
    ],
    ["organizations.create name", "POST", "/api/organizations", { name: NUL }],
  ];
  for (const [name, method, url, payload] of cases) {
    it(`${name}: a NUL is a 400 VALIDATION_ERROR`, async () => {
      const admin = await t.userWithToken({ role: "AppAdmin" });
      const res = await t.app.inject({
        method,
        url,
        headers: admin.auth,
        ...(payload && { payload }),
      });
      expect(res.statusCode, res.body).toBe(400);
      expect(res.json().code).toBe("VALIDATION_ERROR");
    });
  }
});
