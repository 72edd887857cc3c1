// npm run openapi:types — regenerates scripts/generated/openapi-types.ts from openapi.json with
// openapi-typescript, then formats it with Biome. openapi-typescript needs TypeScript 5's
// compiler API (this project builds with TypeScript 7), so it runs through `npm exec` with its
// own pinned copies instead of being a dependency; the generated file is committed.
// The header records a hash of the document, so test/http/openapi.test.ts notices stale types.
import { execFileSync } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openApiHash } from "./openapi-hash.ts";

const GENERATOR = ["openapi-typescript@7.13.0", "typescript@5.9.3"];
const source = "openapi.json";
const target = "scripts/generated/openapi-types.ts";

const raw = join(tmpdir(), `openapi-types-${process.pid}.ts`);
try {
  execFileSync(
    "npm",
    [
      "exec",
      "--yes",
      ...GENERATOR.map((pkg) => `--package=${pkg}`),
      "--",
      "openapi-typescript",
      source,
      "--output",
      raw,
    ],
    { stdio: "inherit" },
  );
  const header = [
    "// GENERATED FILE: do not edit. `npm run openapi:types` (scripts/examples/generate-openapi-types.ts)",
    `// writes it from ${source} with ${GENERATOR[0]}; run it again after the API changes.`,
    `// ${source} sha256: ${openApiHash(readFileSync(source, "utf8"))}`,
    "",
  ].join("\n");
  writeFileSync(target, header + readFileSync(raw, "utf8"));
} finally {
  rmSync(raw, { force: true });
}
execFileSync("npx", ["biome", "format", "--write", target], { stdio: "inherit" });
console.log(`wrote ${target}`);
