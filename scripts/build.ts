// npm run build — compiles the service into dist/ for `npm start` (production):
//   dist/main.js             server/main.ts and everything it imports from this project
//   dist/strength-worker.js  the password-strength worker thread (server/passwords/policy.ts)
//   dist/pages/              the landing pages' HTML, script, style and icon (server/http/pages/)
//   dist/console/            the admin console, built for the browser (scripts/build-console.ts)
// Packages stay in node_modules (imported as usual): native modules (argon2, sharp) and the
// files some packages read beside their code (swagger-ui, PGlite) resolve as they do in dev.
// Running compiled JavaScript rather than TypeScript through tsx saves ~55 MiB of resident memory.

import { cpSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { buildConsole } from "./build-console.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

/** What server/http/pages/register.ts reads at start-up; its .ts file is bundled into main.js. */
const isPageFile = (source: string) => !source.endsWith(".ts");

/**
 * Builds into `outDir` (replacing it). It must sit inside the project, so that the packages the
 * bundle imports resolve from node_modules.
 */
export async function buildService(outDir = `${ROOT}dist`): Promise<void> {
  rmSync(outDir, { recursive: true, force: true });
  await build({
    absWorkingDir: ROOT,
    entryPoints: ["server/main.ts", "server/passwords/strength-worker.ts"],
    outdir: outDir,
    entryNames: "[name]",
    bundle: true,
    packages: "external",
    platform: "node",
    format: "esm",
    target: "node20",
    // A dynamic import() of the project's own code stays lazy only as a chunk of its own;
    // without splitting it would be inlined and its packages imported at start-up.
    splitting: true,
    chunkNames: "chunks/[name]-[hash]",
    // For reading a stack trace against the TypeScript: `node --enable-source-maps dist/main.js`
    // (not the default: Node then keeps every source map in memory).
    sourcemap: true,
    logLevel: "warning",
  });
  cpSync(`${ROOT}server/http/pages`, `${outDir}/pages`, { recursive: true, filter: isPageFile });
  await buildConsole(`${outDir}/console`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const started = Date.now();
  await buildService();
  console.log(`built dist/ in ${Date.now() - started} ms`);
}
