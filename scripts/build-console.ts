// npm run build:console — bundles the admin console (server/console/) for the browser:
//   <outDir>/index.html               the page, naming the assets below
//   <outDir>/assets/main-<hash>.js    Preact and the console's code, minified, one file
//   <outDir>/assets/main-<hash>.css   its style
// The hash in each name changes with the content, so the server caches assets for good
// (server/http/console/serve.ts). Nothing is inline: the page's CSP allows 'self' only.

import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

/** Builds the console into `outDir` (replacing it). Takes ~0.2 s; tests call it in-process. */
export async function buildConsole(outDir = `${ROOT}dist/console`): Promise<void> {
  rmSync(outDir, { recursive: true, force: true });
  const assets = join(outDir, "assets");
  mkdirSync(assets, { recursive: true });
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: ["server/console/main.tsx"],
    outdir: assets,
    entryNames: "[name]-[hash]",
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    jsx: "automatic",
    jsxImportSource: "preact",
    minify: true,
    metafile: true,
    legalComments: "none",
    logLevel: "warning",
  });
  const outputs = Object.keys(result.metafile.outputs).map((file) => basename(file));
  const script = outputs.find((file) => file.endsWith(".js"));
  const style = outputs.find((file) => file.endsWith(".css"));
  if (!script || !style)
    throw new Error(`build-console: expected a .js and a .css, got ${outputs}`);
  writeFileSync(join(outDir, "index.html"), page(script, style));
}

const page = (script: string, style: string) => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>Users API · Admin console</title>
<link rel="icon" href="/pages/icon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/admin/assets/${style}">
<script type="module" src="/admin/assets/${script}"></script>
</head>
<body>
<div id="app"><p class="loading">Loading the console…</p></div>
<noscript>The admin console needs JavaScript.</noscript>
</body>
</html>
`;

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const started = Date.now();
  await buildConsole();
  console.log(`built dist/console/ in ${Date.now() - started} ms`);
}
