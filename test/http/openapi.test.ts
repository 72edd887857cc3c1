import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isDeepStrictEqual, promisify } from "node:util";
import SwaggerParser from "@apidevtools/swagger-parser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openApiHash } from "../../scripts/examples/openapi-hash.ts";
import { createTestApp, type TestApp } from "../helpers/test-app.ts";

const run = promisify(execFile);

type Operation = { security?: Array<Record<string, string[]>> };
type Document = {
  openapi: string;
  servers: Array<{ url: string }>;
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes: Record<string, unknown> };
};

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

/** Which paths a regeneration would add or remove, to make the failure message useful. */
function pathChanges(committed: Document, generated: unknown): string {
  const before = Object.keys(committed.paths ?? {});
  const after = Object.keys((generated as Document).paths ?? {});
  const added = after.filter((path) => !before.includes(path));
  const removed = before.filter((path) => !after.includes(path));
  const parts = [
    added.length > 0 ? `new paths: ${added.join(", ")}` : "",
    removed.length > 0 ? `removed paths: ${removed.join(", ")}` : "",
  ].filter(Boolean);
  return parts.length > 0 ? ` (${parts.join("; ")})` : "";
}

async function served(): Promise<Document> {
  const res = await t.app.inject({ method: "GET", url: "/api/openapi.json" });
  expect(res.statusCode).toBe(200);
  return res.json() as Document;
}

describe("GET /api/openapi.json", () => {
  it("is a valid OpenAPI 3.1 document (schema, $refs and operations checked)", async () => {
    const document = await served();
    expect(document.openapi).toMatch(/^3\.1\.\d+$/);
    // swagger-parser validates against the official 3.1 schema and resolves every $ref;
    // it changes what it is given, hence the copy.
    const error = await SwaggerParser.validate(structuredClone(document) as never).then(
      () => undefined,
      (failure: Error) => failure.message,
    );
    expect(error).toBeUndefined();
  });

  it("declares bearerAuth and requires it exactly on the protected operations", async () => {
    const document = await served();
    expect(document.components.securitySchemes.bearerAuth).toEqual({
      type: "http",
      scheme: "bearer",
      bearerFormat: "JWT",
    });
    const secured = (path: string, method: string) =>
      (document.paths[path]?.[method]?.security ?? []).some((entry) => "bearerAuth" in entry);
    expect(secured("/users/me", "get")).toBe(true);
    expect(secured("/users", "get")).toBe(true);
    expect(secured("/users/signup", "post")).toBe(false);
    expect(secured("/auth/token", "post")).toBe(false);
  });
});

describe("the committed openapi.json", () => {
  const STALE =
    "openapi.json at the repository root is stale: run `npm run openapi` (with PUBLIC_URL unset) and `npm run openapi:types`, and commit the results";

  it("equals what `npm run openapi` generates", async () => {
    const dir = await mkdtemp(join(tmpdir(), "openapi-"));
    try {
      const target = join(dir, "openapi.json");
      // As `npm run openapi` runs it, with the default PUBLIC_URL (http://localhost:3000).
      const env = { ...process.env };
      delete env.PUBLIC_URL;
      delete env.PORT;
      await run("npx", ["tsx", "scripts/openapi.ts", target], { env });
      const generated: unknown = JSON.parse(await readFile(target, "utf8"));
      const committed = await readFile("openapi.json", "utf8").catch(() => undefined);
      expect(committed, STALE).toBeDefined();
      const fresh = JSON.parse(committed as string) as Document;
      expect(isDeepStrictEqual(fresh, generated), `${STALE}${pathChanges(fresh, generated)}`).toBe(
        true,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it("is what scripts/generated/openapi-types.ts was generated from", async () => {
    const committed = await readFile("openapi.json", "utf8");
    const types = await readFile("scripts/generated/openapi-types.ts", "utf8");
    const recorded = /openapi\.json sha256: ([0-9a-f]{64})/.exec(types)?.[1];
    expect(
      recorded,
      "scripts/generated/openapi-types.ts is stale: run `npm run openapi:types` and commit it",
    ).toBe(openApiHash(committed));
  });

  it("names the default server URL, as generated with PUBLIC_URL unset", async () => {
    const committed = JSON.parse(await readFile("openapi.json", "utf8")) as Document;
    expect(committed.servers).toEqual([{ url: "http://localhost:3000/api" }]);
  });
});
