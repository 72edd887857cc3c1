// The layers of a request, for a CPU profile's per-layer table (profile-summary.ts): each sampled
// function is put in the layer of its package, or of the project's source file. The built service
// is one bundle (dist/), so its frames are traced back to their TypeScript file through the
// bundle's source map first.

import { readFileSync } from "node:fs";
import { SourceMap } from "node:module";
import { relative } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** In the order of a request's path through the service; the first match wins. */
export const LAYERS: readonly { name: string; test: RegExp }[] = [
  { name: "Node HTTP, sockets, streams", test: /^node:/ },
  {
    name: "Fastify route, hooks, reply",
    test: /^(fastify|find-my-way|avvio|fast-json-stringify|fast-querystring|fast-uri|secure-json-parse|light-my-request|@fastify\/[^/]+|process-warning|abstract-logging|pino[^/]*|toad-cache|rfdc)$|^server\/(app\.ts|main\.ts|http\/(hygiene|error-reply|bounded-json|metrics)\.ts)$/,
  },
  {
    name: "tRPC and the REST mapping",
    test: /^(@trpc\/server|trpc-to-openapi)$|^server\/(context\.ts|http\/(rest|trpc-http|trpc-wire|trpc-upload-limit)\.ts)$/,
  },
  { name: "zod (input and output)", test: /^(zod|zod-openapi)$/ },
  {
    name: "middleware, auth, permissions, procedure",
    test: /^(jose)$|^server\/(trpc\.ts|auth\/|permissions\/|errors\/|limits\/|listing\/)|^routers\//,
  },
  { name: "Kysely (building, compiling)", test: /^kysely$|^db\// },
  {
    name: "pg driver",
    test: /^(pg|pg-[a-z0-9-]+|postgres-[a-z-]+|buffer-writer|packet-reader|split2|obuf)$/,
  },
  { name: "V8: GC, compiler, native", test: /^\(/ },
];

export const OTHER_LAYER = "other";

type Frame = { functionName: string; url: string; lineNumber: number; columnNumber?: number };

/** The layer of a profile's call frame; `maps` caches the bundle's source maps. */
export function createLayerOf(): (frame: Frame) => string {
  const maps = new Map<string, SourceMap | undefined>();
  const sourceMap = (file: string) => {
    if (!maps.has(file)) {
      try {
        maps.set(file, new SourceMap(JSON.parse(readFileSync(`${file}.map`, "utf8"))));
      } catch {
        maps.set(file, undefined);
      }
    }
    return maps.get(file);
  };
  return (frame) => {
    const origin = originOf(frame, sourceMap);
    return LAYERS.find((layer) => layer.test.test(origin))?.name ?? OTHER_LAYER;
  };
}

/**
 * A package name (`kysely`, `@trpc/server`), a project path (`server/http/rest.ts`), `node:…`,
 * or V8's own `(garbage collector)`.
 */
function originOf(frame: Frame, sourceMap: (file: string) => SourceMap | undefined): string {
  const url = frame.url.replace(/^file:\/\//, "");
  if (!url) return frame.functionName.startsWith("(") ? frame.functionName : "(native)";
  if (url.startsWith("node:")) return url;
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm?.[1]) return nm[1];
  if (!url.startsWith(ROOT)) return url;
  const path = url.slice(ROOT.length);
  if (!path.startsWith("dist/")) return path;
  const entry = sourceMap(url)?.findEntry(frame.lineNumber, frame.columnNumber ?? 0);
  const source = entry && "originalSource" in entry ? entry.originalSource : undefined;
  if (!source) return path;
  const original = relative(ROOT, fileURLToPath(new URL(source, `file://${url}`)));
  const inPackage = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(original);
  return inPackage?.[1] ?? original;
}
