// Builds the package's `./client` entry into dist/client/ (npm pack runs it as `prepack`):
//   dist/client/index.js   routers/client/ bundled as one ES module; @trpc/client, @trpc/server
//                          and openapi-fetch stay imports of the installed packages
//   dist/client/types/     declarations of routers/client/ and of every file its types reach
//                          (AppRouter reaches the routers and the server's types; no code)
// Consumers thus need no TypeScript loader, and their compiler reads .d.ts files only.

import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const ENTRY = "routers/client/index.ts";

/** Fails when the bundle took in anything but the client's own files (a value import of the server). */
function assertClientOnly(inputs: readonly string[]): void {
  const foreign = inputs.filter((input) => !input.startsWith("routers/client/"));
  if (foreign.length > 0) {
    throw new Error(
      `the client bundle must import only types from the project: ${foreign.join(", ")}`,
    );
  }
}

export async function buildClient(outDir = join(ROOT, "dist", "client")): Promise<void> {
  rmSync(outDir, { recursive: true, force: true });
  const { metafile } = await build({
    absWorkingDir: ROOT,
    entryPoints: [ENTRY],
    outfile: join(outDir, "index.js"),
    bundle: true,
    packages: "external",
    // Browsers and Node alike: nothing here needs Node's modules.
    platform: "neutral",
    format: "esm",
    target: "es2022",
    metafile: true,
    logLevel: "warning",
  });
  assertClientOnly(Object.keys(metafile.inputs));

  // tsc takes a file list only from a tsconfig; this one narrows the project's to the entry.
  const configDir = join(ROOT, "node_modules", ".cache", "build-client");
  mkdirSync(configDir, { recursive: true });
  const config = join(configDir, "tsconfig.json");
  writeFileSync(
    config,
    JSON.stringify({
      extends: join(ROOT, "tsconfig.json"),
      compilerOptions: {
        noEmit: false,
        declaration: true,
        emitDeclarationOnly: true,
        // `npm run typecheck` checks the whole project; a subset would lack its augmentations.
        noCheck: true,
        rootDir: ROOT,
        outDir: join(outDir, "types"),
      },
      include: [],
      files: [join(ROOT, ENTRY)],
    }),
  );
  execFileSync(join(ROOT, "node_modules", ".bin", "tsc"), ["-p", config], { stdio: "inherit" });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const started = Date.now();
  await buildClient();
  console.log(
    `built ${relative(process.cwd(), join(ROOT, "dist", "client"))}/ in ${Date.now() - started} ms`,
  );
}
