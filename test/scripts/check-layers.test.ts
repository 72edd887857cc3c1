import { describe, expect, it } from "vitest";
import { checkLayers, readSources } from "../../scripts/check-layers.ts";
import { ROOT } from "../helpers/spawn.ts";

// `npm run lint` fails when this check finds a problem: it must find the ones the plan forbids,
// in every way a file can import another, and none on the tree as it is.

const check = (files: Record<string, string>) => checkLayers(new Map(Object.entries(files)));

describe("scripts/check-layers.ts", () => {
  it("refuses an import of a layer above, whichever way it is written", () => {
    expect(
      check({
        "db/users.ts": [
          'import { AppError } from "../server/errors/api-errors.ts";',
          'import type { Deps } from "../server/context.ts";',
          'export { rest } from "../server/http/rest.ts";',
          'const later = await import("../routers/router.ts");',
        ].join("\n"),
        "server/errors/api-errors.ts": "",
        "server/context.ts": "",
        "server/http/rest.ts": "",
        "routers/router.ts": "",
      }),
    ).toEqual([
      "db/users.ts -> server/context.ts: the data may not import the service's library above it",
      "db/users.ts -> server/http/rest.ts: the data may not import the doors above it",
      "db/users.ts -> routers/router.ts: the data may not import the procedures above it",
    ]);
  });

  it("refuses a loop, even inside one layer", () => {
    expect(
      check({
        "server/mail/a.ts": 'import { b } from "./b.ts";',
        "server/mail/b.ts": 'import { c } from "../auth/c.ts";',
        "server/auth/c.ts": 'import "../mail/a.ts";',
      }),
    ).toEqual([
      "import loop: server/mail/a.ts -> server/mail/b.ts -> server/auth/c.ts -> server/mail/a.ts",
    ]);
  });

  it("refuses a file in no layer, and a migration that imports application code", () => {
    expect(
      check({
        "server/stray.ts": "",
        "db/migrations/2026-01-01T0000-x.ts": 'import { sql } from "../users.ts";',
        "db/users.ts": "",
      }),
    ).toEqual([
      "server/stray.ts: in no layer; place it in scripts/check-layers.ts",
      "db/migrations/2026-01-01T0000-x.ts -> db/users.ts: a migration imports no application code",
    ]);
  });

  it("lets the admin console (browser code, .tsx too) import only itself and the client entry", () => {
    expect(
      check({
        "server/console/app.tsx": [
          'import { trpc } from "./api.ts";',
          'import { AppError } from "../errors/api-errors.ts";',
          'import { createSession } from "../../routers/client/session.ts";',
        ].join("\n"),
        "server/console/api.ts":
          'import { createTrpcClient } from "../../routers/client/index.ts";',
        "routers/client/index.ts": "",
        "routers/client/session.ts": "",
        "server/errors/api-errors.ts": "",
        "scripts/build.ts": 'import "../server/console/app.tsx";',
      }),
    ).toEqual([
      "server/console/app.tsx -> server/errors/api-errors.ts: the console reaches the service through routers/client/index.ts only",
      "server/console/app.tsx -> routers/client/session.ts: the console reaches the service through routers/client/index.ts only",
      "scripts/build.ts -> server/console/app.tsx: things people run may not import the admin console above it",
    ]);
  });

  it("passes imports of the same layer and of those below", () => {
    expect(
      check({
        "server/http/rest.ts": 'import { x } from "../auth/tokens.ts";\nimport "./hygiene.ts";',
        "server/http/hygiene.ts": 'import { y } from "../errors/api-errors.ts";',
        "server/auth/tokens.ts": 'import { z } from "../../db/users.ts";',
        "server/errors/api-errors.ts": "",
        "db/users.ts": 'import { w } from "../server/errors/api-errors.ts";',
      }),
    ).toEqual([]);
  });

  it("passes on the project's own files", () => {
    const sources = readSources(ROOT);
    expect(sources.size).toBeGreaterThan(100);
    expect(checkLayers(sources)).toEqual([]);
  });
});
