// npm run lint runs this: every file of the application belongs to one layer and imports only
// its own layer or those below it, and no files import each other in a loop. The README's
// "Layout" section draws the same plan.

import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * From the top down; a path ending in "/" is a folder, anything else one file. A file belongs to
 * the layer of the longest path that names it (a file or folder listed inside another's folder).
 */
export const LAYERS: readonly { name: string; paths: readonly string[] }[] = [
  // Browser code, bundled by scripts/build-console.ts; the server only serves the built files.
  { name: "the admin console", paths: ["server/console/"] },
  { name: "things people run", paths: ["scripts/"] },
  // What consumers install (the package's `./client` entry): above everything of the service, so
  // no server file can depend on it, and built to import only types from below.
  {
    name: "the client",
    paths: ["routers/client/", "scripts/generated/openapi-types.ts"],
  },
  {
    name: "the process",
    paths: ["server/main.ts", "server/app.ts", "server/deps.ts", "server/log-format.ts"],
  },
  { name: "the doors", paths: ["server/http/"] },
  { name: "the procedures", paths: ["routers/"] },
  { name: "the procedure kit", paths: ["server/trpc.ts"] },
  {
    name: "the service's library",
    paths: [
      "server/accounts/",
      "server/auth/",
      "server/images/",
      "server/limits/",
      "server/listing/",
      "server/mail/",
      "server/passwords/",
      "server/permissions/",
      "server/replicas/",
      "server/porting/",
      "server/webhooks/",
      "server/config.ts",
      "server/context.ts",
    ],
  },
  { name: "the data", paths: ["db/"] },
  { name: "the error contract", paths: ["server/errors/"] },
];

const ROOTS = ["scripts", "server", "routers", "db"];
/** The browser's code imports nothing of the service but the client entry (types and clients). */
const CONSOLE = "server/console/";
const CONSOLE_MAY_IMPORT = "routers/client/index.ts";
// import … from "x", export … from "x", import "x", import("x")
const IMPORT = /(?:\bfrom\s*|\bimport\s*\(?\s*)["'](\.{1,2}\/[^"']+)["']/g;

export function layerOf(file: string): number | undefined {
  let best: { index: number; length: number } | undefined;
  LAYERS.forEach(({ paths }, index) => {
    for (const path of paths) {
      const names = path.endsWith("/") ? file.startsWith(path) : file === path;
      if (names && path.length > (best?.length ?? 0)) best = { index, length: path.length };
    }
  });
  return best?.index;
}

/** The project's own files that `file` (relative to the root) imports, given its source. */
export function importsOf(file: string, source: string): string[] {
  return [...source.matchAll(IMPORT)].map((match) =>
    normalize(join(dirname(file), match[1] as string)),
  );
}

/** Every broken rule, one line each; empty when the plan holds. */
export function checkLayers(sources: ReadonlyMap<string, string>): string[] {
  const problems: string[] = [];
  const edges = new Map<string, string[]>();
  for (const [file, source] of sources) {
    const own = layerOf(file);
    if (own === undefined) {
      problems.push(`${file}: in no layer; place it in scripts/check-layers.ts`);
      continue;
    }
    const targets = importsOf(file, source).filter((target) => sources.has(target));
    edges.set(file, targets);
    for (const target of targets) {
      const theirs = layerOf(target);
      if (theirs !== undefined && theirs < own) {
        const [from, to] = [LAYERS[own], LAYERS[theirs]];
        problems.push(`${file} -> ${target}: ${from?.name} may not import ${to?.name} above it`);
      }
      if (file.startsWith("db/migrations/") && !target.startsWith("db/migrations/")) {
        problems.push(`${file} -> ${target}: a migration imports no application code`);
      }
      if (
        file.startsWith(CONSOLE) &&
        !target.startsWith(CONSOLE) &&
        target !== CONSOLE_MAY_IMPORT
      ) {
        problems.push(
          `${file} -> ${target}: the console reaches the service through ${CONSOLE_MAY_IMPORT} only`,
        );
      }
    }
  }
  for (const loop of findLoops(edges)) problems.push(`import loop: ${loop.join(" -> ")}`);
  return problems;
}

/** Each loop once, found by depth-first search; a loop is reported from the file it was entered. */
function findLoops(edges: ReadonlyMap<string, string[]>): string[][] {
  const loops: string[][] = [];
  const done = new Set<string>();
  const path: string[] = [];
  const onPath = new Set<string>();
  const visit = (file: string) => {
    if (onPath.has(file)) {
      loops.push([...path.slice(path.indexOf(file)), file]);
      return;
    }
    if (done.has(file)) return;
    path.push(file);
    onPath.add(file);
    for (const target of edges.get(file) ?? []) visit(target);
    onPath.delete(file);
    path.pop();
    done.add(file);
  };
  for (const file of edges.keys()) visit(file);
  return loops;
}

/** The project's own TypeScript files (.ts, .tsx) under `root`, by path relative to it, with their source. */
export function readSources(root: string): Map<string, string> {
  const sources = new Map<string, string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (path.endsWith(".ts") || path.endsWith(".tsx"))
        sources.set(path, readFileSync(join(root, path), "utf8"));
    }
  };
  for (const dir of ROOTS) walk(dir);
  return sources;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = fileURLToPath(new URL("../", import.meta.url));
  const problems = checkLayers(readSources(root));
  for (const problem of problems) console.error(problem);
  if (problems.length > 0) {
    console.error(`${problems.length} layering problem(s); see the README's "Layout"`);
    process.exit(1);
  }
  console.log(`layers hold (${relative(process.cwd(), root) || "."})`);
}
