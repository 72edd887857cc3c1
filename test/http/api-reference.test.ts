// API.md is the reference the service keeps; these checks stop it drifting from the code: the
// error table is the closed list of codes with their statuses, and every operation the OpenAPI
// document has is in its table of who may do what. The README sends readers there, not outside
// the repository.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { API_ERRORS } from "../../server/errors/api-errors.ts";
import { ROOT } from "../helpers/spawn.ts";

const reference = readFileSync(`${ROOT}API.md`, "utf8");
const readme = readFileSync(`${ROOT}README.md`, "utf8");
const openapi = JSON.parse(readFileSync(`${ROOT}openapi.json`, "utf8")) as {
  paths: Record<string, Record<string, unknown>>;
};

describe("API.md", () => {
  it("lists every error code with its HTTP status, and no other", () => {
    const rows = [...reference.matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \|/gm)].map(
      ([, code, status]) => [code, Number(status)],
    );
    const codes = Object.entries(API_ERRORS).map(([code, { status }]) => [code, status]);
    expect(rows).toEqual(codes);
  });

  it("says who may call every operation of the OpenAPI document", () => {
    const operations = Object.entries(openapi.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `\`${method.toUpperCase()} /api${path}\``),
    );
    expect(operations.length).toBeGreaterThan(30);
    expect(operations.filter((operation) => !reference.includes(operation))).toEqual([]);
  });
});

describe("README.md", () => {
  it("links API.md and nothing outside the repository", () => {
    expect(readme).toContain("(API.md)");
    expect(readme).not.toMatch(/\]\((?:\.\.\/|\/work\/)/);
    expect(readme).not.toMatch(/shared\/api-contract/);
  });
});
