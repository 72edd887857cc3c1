// The OpenAPI document's examples: each one valid against its own schema, error examples that
// carry their own code at their own status, a documented 413 wherever a JSON body is taken, and
// the login and $filter examples working against `npm run db:seed` data as /docs pre-fills them.

import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { API_ERRORS, type ApiErrorCode } from "../../server/errors/api-errors.ts";
import { createScriptDatabase } from "../helpers/script-database.ts";
import { createTestApp, type TestApp } from "../helpers/test-app.ts";

type Json = Record<string, unknown>;
type MediaType = { schema?: Json; examples?: Record<string, { value: unknown }> };
type Operation = {
  parameters?: Array<{ name: string; in: string; schema?: Json }>;
  requestBody?: { content: Record<string, MediaType> };
  responses: Record<string, { description: string; content?: Record<string, MediaType> }>;
};
type Document = { paths: Record<string, Record<string, Operation>> };

let t: TestApp;
let document: Document;
beforeAll(async () => {
  t = await createTestApp();
  const res = await t.app.inject({ method: "GET", url: "/api/openapi.json" });
  expect(res.statusCode).toBe(200);
  document = res.json() as Document;
});
afterAll(() => t.close());

const pointerPart = (part: string) => part.replaceAll("~", "~0").replaceAll("/", "~1");

/** Every example in the document, with the JSON pointer of the schema it must satisfy. */
function examplesOf(
  node: unknown,
  pointer = "",
): Array<{ at: string; schema: string; value: unknown }> {
  if (typeof node !== "object" || node === null) return [];
  const found: Array<{ at: string; schema: string; value: unknown }> = [];
  const object = node as Json;
  // A schema's own example(s); only schemas have a `type` or a `$ref` beside them here.
  if ("type" in object || "$ref" in object || "anyOf" in object) {
    if ("example" in object) found.push({ at: pointer, schema: pointer, value: object.example });
    if (Array.isArray(object.examples)) {
      for (const value of object.examples) found.push({ at: pointer, schema: pointer, value });
    }
  }
  // A media type's named examples, checked against the media type's schema.
  if (
    "schema" in object &&
    typeof object.examples === "object" &&
    !Array.isArray(object.examples)
  ) {
    for (const [name, example] of Object.entries(object.examples as Json)) {
      const { value } = example as { value: unknown };
      found.push({ at: `${pointer}/examples/${name}`, schema: `${pointer}/schema`, value });
    }
  }
  for (const [key, child] of Object.entries(object)) {
    // An example is data, not a place where schemas live.
    if (key !== "example" && key !== "examples")
      found.push(...examplesOf(child, `${pointer}/${pointerPart(key)}`));
  }
  return found;
}

function operations(): Array<{ name: string; operation: Operation }> {
  return Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => ({
      name: `${method.toUpperCase()} ${path}`,
      operation,
    })),
  );
}

describe("the examples in GET /api/openapi.json", () => {
  it("each one satisfies the schema it illustrates", () => {
    // OpenAPI 3.1 schemas are JSON Schema 2020-12; `example` and friends are annotations.
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats.default(ajv);
    ajv.addSchema(document, "openapi");
    const found = examplesOf(document);
    expect(found.length).toBeGreaterThan(100);
    const failures = found.flatMap(({ at, schema, value }) => {
      const validate = ajv.getSchema(`openapi#${schema}`);
      if (!validate) return [`${at}: no schema at ${schema}`];
      return validate(value) ? [] : [`${at}: ${ajv.errorsText(validate.errors)}`];
    });
    expect(failures).toEqual([]);
  });

  it("look real: ids and counts small and positive, times in this decade", () => {
    const unrealistic = examplesOf(document).filter(({ value }) => {
      if (typeof value === "number") return value < 0 || value > 2 ** 31;
      if (typeof value === "string" && /^\d{4}-\d\d-\d\dT/.test(value)) {
        return !value.startsWith("202");
      }
      return false;
    });
    expect(unrealistic).toEqual([]);
  });

  it("give every error response one example per code, each at the code's own status", () => {
    const failures: string[] = [];
    for (const { name, operation } of operations()) {
      for (const [status, response] of Object.entries(operation.responses)) {
        if (Number(status) < 400) continue;
        const codes = response.description.split(", ");
        const examples = response.content?.["application/json"]?.examples ?? {};
        expect(Object.keys(examples), `${name} ${status}`).toEqual(codes);
        for (const [code, { value }] of Object.entries(examples)) {
          const body = value as { code: ApiErrorCode };
          if (body.code !== code) failures.push(`${name} ${status}: ${code} shows ${body.code}`);
          if (String(API_ERRORS[code as ApiErrorCode]?.status) !== status) {
            failures.push(`${name} ${status}: ${code} is not a ${status}`);
          }
        }
      }
    }
    expect(failures).toEqual([]);
    const login = document.paths["/auth/token"]?.post?.responses["401"];
    expect(login?.content?.["application/json"]?.examples?.INVALID_CREDENTIALS).toBeDefined();
  });

  it("document 413 PAYLOAD_TOO_LARGE on every operation that takes a JSON body", () => {
    const withJsonBody = operations().filter(
      ({ operation }) => operation.requestBody?.content["application/json"],
    );
    expect(withJsonBody.length).toBeGreaterThan(15);
    const missing = withJsonBody
      .filter(
        ({ operation }) => !operation.responses["413"]?.description.includes("PAYLOAD_TOO_LARGE"),
      )
      .map(({ name }) => name);
    expect(missing).toEqual([]);
  });

  it("are right about 413: a 2 MiB signup is refused with PAYLOAD_TOO_LARGE", async () => {
    const res = await t.app.inject({
      method: "POST",
      url: "/api/users/signup",
      headers: { "content-type": "application/json" },
      payload: JSON.stringify({ email: "big@example.com", firstName: "x".repeat(2 * 1024 * 1024) }),
    });
    expect(res.statusCode).toBe(413);
    expect(res.json()).toMatchObject({ code: "PAYLOAD_TOO_LARGE" });
  });
});

describe("the login and $filter examples against `npm run db:seed` data", {
  timeout: 180_000,
}, () => {
  it("log in as a demo user and find someone", async () => {
    const data = await createScriptDatabase();
    onTestFinished(data.close);
    const seed = await data.run(["scripts/db-seed.ts"]);
    expect(seed.stderr).toBe("");
    expect(seed.status).toBe(0);
    const app = await data.openApp();

    const token = document.paths["/auth/token"]?.post?.requestBody?.content["application/json"];
    const [credentials] = (token?.schema?.examples ?? []) as unknown[];
    const login = await app.inject({
      method: "POST",
      url: "/api/auth/token",
      payload: credentials as Json,
    });
    expect(login.statusCode).toBe(200);
    const { accessToken } = login.json() as { accessToken: string };

    const example = (name: string) =>
      document.paths["/users"]?.get?.parameters?.find((p) => p.name === name)?.schema?.example;
    const query = new URLSearchParams({
      $filter: String(example("$filter")),
      $orderby: String(example("$orderby")),
      $select: String(example("$select")),
      $top: String(example("$top")),
    });
    const list = await app.inject({
      method: "GET",
      url: `/api/users?${query}`,
      headers: { authorization: `Bearer ${accessToken}` },
    });
    expect(list.statusCode).toBe(200);
    expect((list.json() as { count: number }).count).toBeGreaterThan(0);
  });
});
