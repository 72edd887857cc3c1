// `npm run bench`: the service against a minimal hand-written baseline, on PostgreSQL with a
// seeded users_bench database. See the README's "Benchmark" section; `--help` lists the options.
// The steps, in order: the database, the machine's state, the two servers, what the requests
// need, the SQL check, each scenario, the report. Whatever way the bench ends, its processes stop.

import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildLoadData, createAllocator, walkToDeepPages } from "./load-data.ts";
import { LoadProcess } from "./load-process.ts";
import { type Bench, measureLimit, measureScenario } from "./measure-scenario.ts";
import { exitWith, parseOptions, serverUrlOrExit, UsageError } from "./options.ts";
import { killAll, machineTicks, memory, sleep, stop } from "./processes.ts";
import {
  fmtInt,
  type LimitResult,
  limitLine,
  type Machine,
  progressLine,
  resultsJson,
  type ScenarioResult,
  table,
} from "./report.ts";
import { LIMIT_SCENARIOS, SCENARIOS } from "./scenarios.ts";
import { cleanUp, loadFixtures, prepareDatabase, serverVersion } from "./seed.ts";
import { type Servers, startServers } from "./servers.ts";
import { checkBaselineSql } from "./sql-check.ts";
import { BENCH_JWT_SECRET, mintAccessToken } from "./tokens.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

const log = (line: string) => console.log(line);

async function main() {
  const options = parseOptions(process.argv.slice(2));
  const serverUrl = serverUrlOrExit();
  const startedAt = performance.now();
  const elapsed = () => `${((performance.now() - startedAt) / 1000).toFixed(0)} s`;
  const runTag = randomBytes(4).toString("hex").slice(0, 6);
  const notes: string[] = [];
  const warn = (note: string) => {
    log(`warning: ${note}`);
    notes.push(note);
  };

  const prepared = await prepareDatabase(serverUrl, options.users, { reset: options.reset, log });
  const { benchUrl } = prepared;
  await cleanUp(benchUrl);
  const fixtures = await loadFixtures(benchUrl, 20_000);
  const machine = await describeMachine(benchUrl);
  log(
    `machine: ${machine.cpus} × ${machine.model}, Node ${machine.node}, PostgreSQL ${machine.pg}; ${fmtInt(fixtures.users)} users`,
  );
  const authorization = `Bearer ${await mintAccessToken(BENCH_JWT_SECRET, {
    userId: fixtures.adminId,
    sessionId: fixtures.adminSessionId,
    tokenVersion: fixtures.adminTokenVersion,
  })}`;
  // Other work on the machine takes cores from the servers: say so before measuring.
  const busyBefore = await machineBusyNow();
  if (busyBefore > 0.15) {
    warn(
      `other processes kept the CPUs ${Math.round(busyBefore * 100)}% busy just before the bench started: expect lower, noisier figures`,
    );
  }

  const work = mkdtempSync(join(tmpdir(), "users-bench-"));
  cleanups.push(() => rmSync(work, { recursive: true, force: true }));
  const benchDir = join(ROOT, "bench");
  mkdirSync(benchDir, { recursive: true });
  const profileDir = join(benchDir, "profiles", new Date().toISOString().replace(/[:.]/g, "-"));
  const servers = await startServers({
    benchUrl,
    benchDir,
    work,
    profile: (name) => {
      if (!options.cpuProf) return [];
      mkdirSync(join(profileDir, name), { recursive: true });
      return ["--cpu-prof", `--cpu-prof-dir=${join(profileDir, name)}`];
    },
    started: (started) => stoppers.push(() => stop(started)),
  });
  const { service, serviceUrl, equal, equalUrl, baseline, baselineUrl, idle } = servers;
  log(
    `service ready at ${serviceUrl} (pid ${service.pid}, idle RSS ${idle ? `${idle.rss.toFixed(0)} MiB` : "n/a"}), with AUTH_CACHE_SECONDS=0 at ${equalUrl} (pid ${equal.pid}), baseline at ${baselineUrl} (pid ${baseline.pid}) (${elapsed()})`,
  );

  const deepLinks = await walkToDeepPages(serviceUrl, authorization, fixtures.users);
  const data = buildLoadData(fixtures, authorization, deepLinks, runTag);
  const allocate = createAllocator(benchUrl, data);
  notes.push(...(await sqlCheck(servers, benchUrl, data, allocate)));

  const load = LoadProcess.start(data, work);
  stoppers.push(() => stop(load.started));
  await load.ready;
  const bench: Bench = {
    options,
    data,
    load,
    targets: {
      service: { kind: "service", url: serviceUrl, pid: service.pid },
      equal: { kind: "equal", url: equalUrl, pid: equal.pid },
      baseline: { kind: "baseline", url: baselineUrl, pid: baseline.pid },
      limit: { kind: "limit", url: servers.limitUrl, pid: servers.limit.pid },
    },
    allocate,
    benchUrl,
    warn,
  };
  const results: ScenarioResult[] = [];
  for (const scenario of SCENARIOS.filter((s) => !options.only || options.only.has(s.name))) {
    const result = await measureScenario(scenario, bench);
    results.push(result);
    log(progressLine(result, elapsed()));
  }
  const limits: LimitResult[] = [];
  for (const scenario of LIMIT_SCENARIOS) {
    const result = await measureLimit(scenario, bench);
    limits.push(result);
    log(limitLine(result, results, elapsed()));
  }

  const peak = memory(service.pid);
  // Stopped in order so the service writes its CPU profile on a clean exit.
  await stopAll();
  const rss = { idleMb: idle?.rss ?? 0, peakMb: peak?.hwm ?? 0 };
  const config = {
    users: fixtures.users,
    quick: options.quick,
    rounds: options.rounds,
    durationSec: options.durationSec,
    warmupSec: options.warmupSec,
    connections: options.connections,
    seedReused: prepared.reused,
    busyBeforeStart: Number(busyBefore.toFixed(2)),
    cpuProf: options.cpuProf,
    dbPoolMax: Number(process.env.DB_POOL_MAX ?? 10),
    hashConcurrency: Number(process.env.HASH_CONCURRENCY ?? 4),
    totalSec: Math.round((performance.now() - startedAt) / 1000),
  };
  const file = join(benchDir, "results.json");
  report({ machine, config, results, limits, rss, notes, file });
  console.log(`wrote ${file} (${elapsed()} in all)`);
  if (options.cpuProf) await summarizeProfiles(profileDir, load.served);
}

async function describeMachine(benchUrl: string): Promise<Machine> {
  const cpuList = cpus();
  return {
    cpus: cpuList.length,
    model: cpuList[0]?.model ?? "unknown",
    node: process.version,
    pg: await serverVersion(benchUrl),
  };
}

/** The share of the CPUs other processes keep busy, over one second. */
async function machineBusyNow(): Promise<number> {
  const before = machineTicks();
  await sleep(1000);
  const after = machineTicks();
  return after.total > before.total ? (after.busy - before.busy) / (after.total - before.total) : 0;
}

/** Whether the baseline sends the service's SQL; the notes it leaves for the report. */
async function sqlCheck(
  servers: Servers,
  benchUrl: string,
  data: Bench["data"],
  allocate: Bench["allocate"],
): Promise<string[]> {
  try {
    const differences = await checkBaselineSql({
      benchUrl,
      env: { ...servers.serviceEnv, LOG_LEVEL: "silent" },
      data,
      scenarios: SCENARIOS,
      params: (scenario) => allocate(scenario, 0),
    });
    if (differences.length === 0) {
      log("sql check: the baseline sends the same SQL as the service in every mirrored scenario");
      return [];
    }
    const note = `sql check: the baseline's SQL differs from the service's (update scripts/bench/baseline-sql.ts):\n  ${differences.join("\n  ")}`;
    log(note);
    return [note];
  } catch (error) {
    const note = `sql check could not run: ${error instanceof Error ? error.message : String(error)}`;
    log(note);
    return [note];
  }
}

/** The table, the notes, and bench/results.json. */
function report(run: {
  machine: Machine;
  config: Record<string, unknown>;
  results: ScenarioResult[];
  limits: LimitResult[];
  rss: { idleMb: number; peakMb: number };
  notes: string[];
  file: string;
}) {
  const { machine, config, results, limits, rss, notes, file } = run;
  console.log(`\n${table(results)}\n`);
  console.log(
    `service RSS: idle ${rss.idleMb.toFixed(0)} MiB after start, peak ${rss.peakMb.toFixed(0)} MiB (VmHWM)`,
  );
  for (const r of results) {
    if (r.plan) {
      const single = r.singleClientMs?.service ?? 0;
      const verdict = single <= 15 ? "within" : "over";
      notes.push(
        `${r.name}: one client ${single.toFixed(1)} ms (${verdict} 15 ms); count: ${r.plan.count}; rows: ${r.plan.rows}`,
      );
    }
  }
  for (const limit of limits) console.log(limitLine(limit, results));
  for (const note of notes) console.log(note);
  writeFileSync(
    file,
    `${JSON.stringify(resultsJson(machine, config, results, rss, notes, limits), null, 2)}\n`,
  );
}

/** Where each server's CPU time went, per request served under load. */
async function summarizeProfiles(profileDir: string, served: LoadProcess["served"]) {
  const { summarize } = await import("./profile-summary.ts");
  for (const name of ["service", "equal", "baseline", "limit"] as const) {
    // One profile per thread; the main thread's is the largest (the others are the password
    // worker's, and the baseline's tsx loader).
    const dir = join(profileDir, name);
    const largest = readdirSync(dir)
      .filter((f) => f.endsWith(".cpuprofile"))
      .map((f) => ({ file: join(dir, f), size: statSync(join(dir, f)).size }))
      .sort((a, b) => b.size - a.size)[0];
    if (largest)
      console.log(
        `\n${name} CPU profile ${largest.file}:\n${summarize(largest.file, served[name])}`,
      );
  }
}

// ---- ending: children are always stopped, whatever way the bench ends ------------------------

const stoppers: (() => Promise<void>)[] = [];
const cleanups: (() => void)[] = [];

async function stopAll(): Promise<void> {
  // The load process first, then the baseline and the service, in reverse order of starting.
  while (stoppers.length > 0) await stoppers.pop()?.();
}

function finalCleanup() {
  killAll();
  while (cleanups.length > 0) cleanups.pop()?.();
}

let interrupted = false;
process.on("exit", finalCleanup);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    interrupted = true;
    console.error(`\nbench: ${signal}, stopping`);
    stopAll().finally(() => process.exit(130));
  });
}

try {
  await main();
} catch (error) {
  if (error instanceof UsageError) exitWith(`bench: ${error.message}`);
  // After Ctrl-C the work in flight fails as its processes stop: that is not news.
  if (!interrupted)
    console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
  await stopAll().catch(() => {});
  process.exitCode = 1;
}
