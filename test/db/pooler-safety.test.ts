// Behind a transaction-mode pooler (PgBouncer) each transaction may run on another server
// connection, so nothing the service runs may leave state on a session for a later statement.
// test/reliability/pgbouncer.test.ts runs the service through a real one; this guards the source.

import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { readSources } from "../../scripts/check-layers.ts";

const sources = readSources(fileURLToPath(new URL("../../", import.meta.url)));

/** Files whose source matches `pattern`, by path. */
const filesMatching = (pattern: RegExp) =>
  [...sources].filter(([, source]) => pattern.test(source)).map(([path]) => path);

describe("nothing the service runs keeps session state", () => {
  it("takes advisory locks only for its transaction (pg_advisory_xact_lock)", () => {
    expect(filesMatching(/pg_(try_)?advisory_lock(_shared)?\s*\(/i)).toEqual([]);
  });

  it("sets settings only for its transaction (set local, set_config(…, true))", () => {
    expect(filesMatching(/`\s*set\s+(session\s+)?(?!local\b)[a-z_.]+\s*(=|to\b)/i)).toEqual([]);
    expect(filesMatching(/set_config\([^)]*,\s*false\s*\)/i)).toEqual([]);
  });

  it("prepares no named statement (node-postgres and Kysely send unnamed ones)", () => {
    expect(filesMatching(/\.query\(\s*\{[^}]*\bname\s*:/s)).toEqual([]);
    expect(filesMatching(/`\s*prepare\s+\w+/i)).toEqual([]);
  });

  it("LISTENs only on the listener's own connection (db/listener.ts)", () => {
    expect(filesMatching(/\bLISTEN\s+\$\{|`LISTEN /)).toEqual(["db/listener.ts"]);
  });
});
