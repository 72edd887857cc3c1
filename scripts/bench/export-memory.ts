// npx tsx scripts/bench/export-memory.ts — measures the process's peak RSS while it streams
// GET /api/users/export (with password hashes) of every user in DATABASE_URL to a client that
// reads it as it comes. Fill the database first (e.g. a million users); prints one line of figures.
// EXPORT_FILTER (a $filter) exports part of them: the peak should not grow with the count.
import { get } from "node:http";
import { sql } from "kysely";
import { migrateToLatest } from "../../db/open.ts";
import { insertUser } from "../../db/users.ts";
import { buildApp } from "../../server/app.ts";
import { startSession } from "../../server/auth/sessions.ts";
import { environment, loadConfig } from "../../server/config.ts";
import { createContext } from "../../server/context.ts";
import { buildDeps } from "../../server/deps.ts";

const config = loadConfig({ ...environment(), RATE_LIMIT: "off", LOG_LEVEL: "silent", PORT: "0" });
if (!config.DATABASE_URL) throw new Error("set DATABASE_URL to the database to export");
const deps = await buildDeps(config);
await migrateToLatest(deps.db);
const app = await buildApp(deps);
const admin = await insertUser(deps.db, {
  email: `export-bench-${Date.now()}@example.com`,
  username: `export-bench-${Date.now()}`,
  first_name: "Export",
  last_name: "Bench",
  role: "AppAdmin",
  status: "active",
  password_hash: null,
});
const { accessToken } = await startSession(createContext(deps), admin);
await app.listen({ port: 0, host: "127.0.0.1" });
const { port } = app.server.address() as { port: number };

const rssStart = process.memoryUsage().rss;
let peak = rssStart;
const sampler = setInterval(() => {
  peak = Math.max(peak, process.memoryUsage().rss);
}, 50);
const started = performance.now();
const { bytes, lines } = await new Promise<{ bytes: number; lines: number }>((resolve, reject) => {
  get(
    `http://127.0.0.1:${port}/api/users/export?includePasswordHashes=true${
      process.env.EXPORT_FILTER ? `&$filter=${encodeURIComponent(process.env.EXPORT_FILTER)}` : ""
    }`,
    { headers: { authorization: `Bearer ${accessToken}` } },
    (res) => {
      let total = 0;
      let count = 0;
      res.on("data", (chunk: Buffer) => {
        total += chunk.byteLength;
        for (const byte of chunk) if (byte === 10) count++;
      });
      res.on("end", () => resolve({ bytes: total, lines: count }));
      res.on("error", reject);
    },
  ).on("error", reject);
});
clearInterval(sampler);
const seconds = (performance.now() - started) / 1000;
await sql`delete from audit_log where actor_id = ${admin.id}`.execute(deps.db);
await sql`delete from users where id = ${admin.id}`.execute(deps.db);
await app.close();
const mb = (n: number) => (n / 1024 / 1024).toFixed(0);
console.log(
  `exported ${lines} users (${mb(bytes)} MB) in ${seconds.toFixed(1)} s; RSS ${mb(rssStart)} MB before, peak ${mb(peak)} MB`,
);
