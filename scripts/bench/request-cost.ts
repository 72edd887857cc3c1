// CPU time per request of the service's own layers, measured in-process with `inject` (no
// sockets, no other process): steadier than throughput on a busy machine, for before/after
// claims about per-request cost. Needs the bench database (run `npm run bench -- --quick` once).
//   BENCH_DATABASE_URL=postgres://… npx tsx scripts/bench/request-cost.ts [--memory-on] [--requests N] [--layers]
// Prints, per request kind, the median over rounds of process CPU µs per request (the pg
// driver's work included, PostgreSQL's not). `--layers` also profiles one more round of each
// kind (V8's sampling profiler, started and stopped around it) and prints its CPU per request
// by layer (profile-layers.ts).

import { writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cpuUsage } from "node:process";
import { buildApp } from "../../server/app.ts";
import { loadConfig } from "../../server/config.ts";
import { buildDeps } from "../../server/deps.ts";
import { serverUrlOrExit } from "./options.ts";
import { summarize } from "./profile-summary.ts";
import { median } from "./report.ts";
import { benchUrls, loadFixtures } from "./seed.ts";
import {
  BENCH_AUDIENCE,
  BENCH_ISSUER,
  BENCH_JWT_SECRET,
  BENCH_TOKEN_TTL,
  mintAccessToken,
} from "./tokens.ts";

const args = process.argv.slice(2);
const memoryOn = args.includes("--memory-on");
const layers = args.includes("--layers");
const requestsAt = args.indexOf("--requests");
const perRound = requestsAt >= 0 ? Number(args[requestsAt + 1]) : 3000;
const ROUNDS = 5;
const CONCURRENCY = 10;

const { benchUrl } = benchUrls(serverUrlOrExit());
const fixtures = await loadFixtures(benchUrl, 1000);
const config = loadConfig({
  DATABASE_URL: benchUrl,
  JWT_ALGORITHM: "HS256",
  JWT_SECRET: BENCH_JWT_SECRET,
  JWT_ISSUER: BENCH_ISSUER,
  JWT_AUDIENCE: BENCH_AUDIENCE,
  ACCESS_TOKEN_TTL: String(BENCH_TOKEN_TTL),
  NODE_ENV: "production",
  RATE_LIMIT: "off",
  LOG_LEVEL: "warn",
  AUTH_CACHE_SECONDS: memoryOn ? "60" : "0",
  DATA_DIR: "/tmp/users-api-request-cost",
});
const app = await buildApp(await buildDeps(config));
await app.ready();
const authorization = `Bearer ${await mintAccessToken(BENCH_JWT_SECRET, {
  userId: fixtures.adminId,
  sessionId: fixtures.adminSessionId,
  tokenVersion: fixtures.adminTokenVersion,
})}`;
const [min, max] = fixtures.idRange;
const randomId = () => min + Math.floor(Math.random() * (max - min + 1));

const KINDS: Record<string, () => { method: "GET"; url: string }> = {
  "get-by-id-rest": () => ({ method: "GET", url: `/api/users/${randomId()}` }),
  "get-by-id-trpc": () => ({
    method: "GET",
    url: `/trpc/users.get?input=${encodeURIComponent(JSON.stringify({ id: String(randomId()) }))}`,
  }),
};

async function round(next: () => { method: "GET"; url: string }, count: number): Promise<number> {
  let left = count;
  const before = cpuUsage();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (left-- > 0) {
        const response = await app.inject({ ...next(), headers: { authorization } });
        if (response.statusCode !== 200) throw new Error(`${response.statusCode} ${response.body}`);
      }
    }),
  );
  const used = cpuUsage(before);
  return (used.user + used.system) / count;
}

console.log(
  `auth memory ${memoryOn ? "on" : "off (AUTH_CACHE_SECONDS=0)"}; ${ROUNDS} rounds of ${perRound} requests, ${CONCURRENCY} at a time, after 2 unmeasured`,
);
for (const [name, next] of Object.entries(KINDS)) {
  await round(next, perRound);
  await round(next, perRound);
  const rounds: number[] = [];
  for (let i = 0; i < ROUNDS; i++) rounds.push(await round(next, perRound));
  console.log(
    `${name.padEnd(16)} ${median(rounds).toFixed(0).padStart(5)} µs CPU/request (rounds: ${rounds.map((r) => r.toFixed(0)).join(", ")})`,
  );
  if (layers) console.log(await profiled(name, () => round(next, perRound), median(rounds)));
}

/** One more round under V8's sampling profiler, summarised by layer per request. */
async function profiled(
  name: string,
  run: () => Promise<number>,
  cpuMicrosPerRequest: number,
): Promise<string> {
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: 250 });
  await session.post("Profiler.start");
  await run();
  const { profile } = await session.post("Profiler.stop");
  session.disconnect();
  const file = join(tmpdir(), `request-cost-${name}-${process.pid}.cpuprofile`);
  writeFileSync(file, JSON.stringify(profile));
  const whole = [{ startUs: 0, endUs: Number.MAX_SAFE_INTEGER, requests: perRound }];
  return summarize(file, whole, 12, cpuMicrosPerRequest);
}
await app.close();
