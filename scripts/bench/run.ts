// `npm run bench`: the service against a minimal hand-written baseline, on PostgreSQL with a
// seeded users_bench database. See the README's "Benchmark" section; `--help` lists the options.

import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import packageJson from "../../package.json" with { type: "json" };
import { createTokenService } from "../../server/auth/tokens.ts";
import { loadConfig } from "../../server/config.ts";
import { buildService } from "../build.ts";
import { LIST } from "./baseline-sql.ts";
import type { Argon2Message, LoadResult, Reply, RunMessage } from "./load.ts";
import { FIRST_NAMES, LAST_NAMES, TRANSLIT_FROM, TRANSLIT_TO } from "./names.ts";
import { explainScans } from "./plans.ts";
import {
  cpuSeconds,
  forkTs,
  freePort,
  killAll,
  machineTicks,
  memory,
  type Started,
  sleep,
  startNode,
  startTs,
  stop,
  waitReady,
} from "./processes.ts";
import {
  combine,
  type Machine,
  median,
  resultsJson,
  type ScenarioResult,
  type Side,
  table,
} from "./report.ts";
import {
  type BenchRequest,
  type LoadData,
  type RunParams,
  SCENARIO_NAMES,
  SCENARIOS,
  type Scenario,
} from "./scenarios.ts";
import {
  BENCH_PASSWORD,
  cleanUp,
  insertRefreshTokens,
  loadFixtures,
  prepareDatabase,
  serverVersion,
} from "./seed.ts";
import { checkBaselineSql } from "./sql-check.ts";
import {
  BENCH_AUDIENCE,
  BENCH_ISSUER,
  BENCH_JWT_SECRET,
  BENCH_TOKEN_TTL,
  mintAccessToken,
} from "./tokens.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
/** Shortest measured round for login and signup (see the scenario loop). */
const HASHING_MIN_SECONDS = 5;
const HERE = fileURLToPath(new URL("./", import.meta.url));

const HELP = `npm run bench [-- options]

Benchmarks the service against a minimal baseline server on PostgreSQL (BENCH_DATABASE_URL or
DATABASE_URL: the server on which the database users_bench is created, seeded and reused).

  --quick            100,000 users, 2 rounds of 2 s (login, signup: 5 s); about 3 minutes once seeded
  --users N          seed N users (default 1,000,000)
  --rounds N         rounds per side (default 3)
  --duration S       seconds per round (default 10)
  --connections N    connections (default 50; the login variants use 4 and 50)
  --only a,b         only these scenarios: ${SCENARIO_NAMES.join(", ")}
  --reset            re-seed even if users_bench holds the seed
  --cpu-prof         run both servers under --cpu-prof (bench/profiles/) and summarise where
                     their CPU time goes
  --help             this text`;

type Options = {
  quick: boolean;
  users: number;
  rounds: number;
  durationSec: number;
  warmupSec: number;
  connections: number;
  only: Set<string> | undefined;
  reset: boolean;
  cpuProf: boolean;
};

class UsageError extends Error {}

function parseOptions(argv: string[]): Options {
  const args = [...argv];
  const quick = args.includes("--quick");
  const options: Options = {
    quick,
    users: quick ? 100_000 : 1_000_000,
    rounds: quick ? 2 : 3,
    // autocannon ends runs on whole seconds, so durations are whole seconds.
    durationSec: quick ? 2 : 10,
    warmupSec: quick ? 1 : 2,
    connections: 50,
    only: undefined,
    reset: false,
    cpuProf: false,
  };
  const count = (flag: string, value: string | undefined, min: number, max: number) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new UsageError(`${flag} takes an integer from ${min} to ${max}`);
    }
    return n;
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const value = () => args[++i];
    switch (arg) {
      case "--quick":
        break;
      case "--users":
        options.users = count(arg, value(), 1000, 20_000_000);
        break;
      case "--rounds":
        options.rounds = count(arg, value(), 1, 20);
        break;
      case "--duration":
        options.durationSec = count(arg, value(), 1, 120);
        break;
      case "--connections":
        options.connections = count(arg, value(), 1, 1000);
        break;
      case "--only": {
        const names = (value() ?? "").split(",").filter(Boolean);
        const unknown = names.find((name) => !SCENARIO_NAMES.includes(name));
        if (unknown || names.length === 0) {
          throw new UsageError(`--only takes scenario names: ${SCENARIO_NAMES.join(", ")}`);
        }
        options.only = new Set(names);
        break;
      }
      case "--reset":
        options.reset = true;
        break;
      case "--cpu-prof":
        options.cpuProf = true;
        break;
      case "--help":
        console.log(HELP);
        process.exit(0);
        break;
      default:
        throw new UsageError(`unknown option ${arg} (see --help)`);
    }
  }
  return options;
}

/** The one-line refusal for anything but a PostgreSQL URL. */
function serverUrlOrExit(): string {
  const url = process.env.BENCH_DATABASE_URL || process.env.DATABASE_URL;
  if (!url) {
    exitWith(
      "bench: needs PostgreSQL: set BENCH_DATABASE_URL (or DATABASE_URL) to postgres://user@host:5432/db (the embedded PGlite is not benchmarked)",
    );
  }
  if (!/^postgres(ql)?:\/\//.test(url)) {
    exitWith(
      "bench: BENCH_DATABASE_URL / DATABASE_URL must be a postgres:// URL (the embedded PGlite is not benchmarked)",
    );
  }
  return url;
}

function exitWith(message: string): never {
  console.error(message);
  process.exit(2);
}

const log = (line: string) => console.log(line);
const fmtInt = (n: number) => Math.round(n).toLocaleString("en-US");

/** The load process, spoken to one message at a time, each with a deadline. */
class LoadProcess {
  private nextId = 1;
  private waiting = new Map<number, (reply: Reply) => void>();
  readonly ready: Promise<void>;

  constructor(readonly started: Started) {
    this.ready = new Promise((resolve) => this.waiting.set(0, () => resolve()));
    started.child.on("message", (reply: Reply) => {
      const resolve = this.waiting.get(reply.id);
      this.waiting.delete(reply.id);
      resolve?.(reply);
    });
  }

  async send(message: Omit<RunMessage, "id"> | Omit<Argon2Message, "id">): Promise<LoadResult> {
    const id = this.nextId++;
    const deadlineMs = (message.durationSec + 30) * 1000;
    const reply = await new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`load process: no answer within ${deadlineMs / 1000} s`));
      }, deadlineMs);
      this.waiting.set(id, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
      this.started.exited.then(() => reject(new Error("load process exited")));
      this.started.child.send({ ...message, id });
    });
    if (!reply.result) throw new Error(`load process: ${reply.error ?? "no result"}`);
    return reply.result;
  }
}

type Target = { kind: "service" | "baseline"; url: string; pid: number };

const ascii = (text: string) =>
  [...text.toLowerCase()]
    .map((ch) => {
      const at = TRANSLIT_FROM.indexOf(ch);
      return at < 0 ? ch : (TRANSLIT_TO[at] ?? "");
    })
    .join("");

async function main() {
  const options = parseOptions(process.argv.slice(2));
  const serverUrl = serverUrlOrExit();
  const startedAt = performance.now();
  const elapsed = () => `${((performance.now() - startedAt) / 1000).toFixed(0)} s`;
  const cpuList = cpus();
  const runTag = randomBytes(4).toString("hex").slice(0, 6);

  // ---- database --------------------------------------------------------------------------
  const prepared = await prepareDatabase(serverUrl, options.users, { reset: options.reset, log });
  const benchUrl = prepared.benchUrl;
  await cleanUp(benchUrl);
  const fixtures = await loadFixtures(benchUrl, 20_000);
  const machine: Machine = {
    cpus: cpuList.length,
    model: cpuList[0]?.model ?? "unknown",
    node: process.version,
    pg: await serverVersion(benchUrl),
  };
  log(
    `machine: ${machine.cpus} × ${machine.model}, Node ${machine.node}, PostgreSQL ${machine.pg}; ${fmtInt(fixtures.users)} users`,
  );

  const authorization = `Bearer ${await mintAccessToken(BENCH_JWT_SECRET, {
    userId: fixtures.adminId,
    sessionId: fixtures.adminSessionId,
    tokenVersion: fixtures.adminTokenVersion,
  })}`;
  const notes: string[] = [];
  // Other work on the machine takes cores from the servers: say so before measuring.
  const before = machineTicks();
  await sleep(1000);
  const after = machineTicks();
  const busyBefore =
    after.total > before.total ? (after.busy - before.busy) / (after.total - before.total) : 0;
  if (busyBefore > 0.15) {
    const note = `other processes kept the CPUs ${Math.round(busyBefore * 100)}% busy just before the bench started: expect lower, noisier figures`;
    log(`warning: ${note}`);
    notes.push(note);
  }

  // ---- processes -------------------------------------------------------------------------
  const work = mkdtempSync(join(tmpdir(), "users-bench-"));
  cleanups.push(() => rmSync(work, { recursive: true, force: true }));
  const benchDir = join(ROOT, "bench");
  mkdirSync(benchDir, { recursive: true });
  const profileDir = join(benchDir, "profiles", new Date().toISOString().replace(/[:.]/g, "-"));
  const profile = (name: string) => {
    if (!options.cpuProf) return [];
    mkdirSync(join(profileDir, name), { recursive: true });
    return ["--cpu-prof", `--cpu-prof-dir=${join(profileDir, name)}`];
  };

  const servicePort = await freePort();
  const serviceUrl = `http://127.0.0.1:${servicePort}`;
  const env = { ...process.env };
  const foreign = ["ADMIN_EMAIL", "ADMIN_PASSWORD", "SMTP_URL", "APP_URL", "REDIS_URL"];
  const otherKeys = ["JWT_PREVIOUS_SECRETS", "JWT_PRIVATE_KEY", "JWT_PREVIOUS_PUBLIC_KEYS"];
  for (const name of [...foreign, ...otherKeys]) {
    delete env[name];
  }
  const shared = {
    DATABASE_URL: benchUrl,
    JWT_ALGORITHM: "HS256",
    JWT_SECRET: BENCH_JWT_SECRET,
    JWT_ISSUER: BENCH_ISSUER,
    JWT_AUDIENCE: BENCH_AUDIENCE,
    ACCESS_TOKEN_TTL: String(BENCH_TOKEN_TTL),
    HOST: "127.0.0.1",
  };
  const serviceEnv: Record<string, string> = {
    ...(env as Record<string, string>),
    ...shared,
    NODE_ENV: "production",
    RATE_LIMIT: "off",
    LOG_LEVEL: "warn",
    PORT: String(servicePort),
    PUBLIC_URL: serviceUrl,
    DATA_DIR: join(work, "service-data"),
  };
  // As `npm start` runs it: the build in dist/, with the start script's Node flags.
  await buildService();
  const start = startCommand();
  const service = startNode(start.entry, {
    cwd: ROOT,
    env: serviceEnv,
    logFile: join(benchDir, "service.log"),
    nodeArgs: [...start.nodeArgs, ...profile("service")],
  });
  stoppers.push(() => stop(service));
  // The baseline starts beside it (both are idle until the load starts).
  const baselinePort = await freePort();
  const baselineUrl = `http://127.0.0.1:${baselinePort}`;
  const baseline = startTs(join(HERE, "baseline-server.ts"), {
    cwd: ROOT,
    env: {
      ...env,
      ...shared,
      PORT: String(baselinePort),
      PUBLIC_URL: baselineUrl,
      BENCH_CURSOR_KEY: await serviceCursorKey(serviceEnv),
    },
    logFile: join(benchDir, "baseline.log"),
    nodeArgs: profile("baseline"),
  });
  stoppers.push(() => stop(baseline));
  await Promise.all([
    waitReady(`${serviceUrl}/readyz`, service, 60_000),
    waitReady(`${baselineUrl}/readyz`, baseline, 60_000),
  ]);
  await sleep(1000);
  const idle = memory(service.pid);
  log(
    `service ready at ${serviceUrl} (pid ${service.pid}, idle RSS ${idle ? `${idle.rss.toFixed(0)} MiB` : "n/a"}), baseline at ${baselineUrl} (pid ${baseline.pid}) (${elapsed()})`,
  );

  // ---- what the requests need ------------------------------------------------------------
  const deepLinks = await walkToDeepPages(serviceUrl, authorization, fixtures.users);
  const data: LoadData = {
    authorization,
    idRange: fixtures.idRange,
    usernames: fixtures.usernames,
    emails: fixtures.emails,
    loginEmails: fixtures.loginEmails,
    password: BENCH_PASSWORD,
    passwordHash: fixtures.passwordHash,
    firstNames: FIRST_NAMES,
    lastNames: LAST_NAMES,
    lastNamePrefixes: [...new Set(LAST_NAMES.slice(0, 80).map((name) => name.slice(0, 3)))],
    emailFragments: [
      ...new Set(LAST_NAMES.slice(0, 80).map((name) => ascii(name).slice(1, 5))),
    ].filter((f) => f.length === 4),
    deepLinks,
    refreshPrefix: `rt.${runTag}.`,
    signupTag: runTag,
  };
  let seq = 0;
  /** Values a run may use up: refresh tokens (inserted now) or signup emails. */
  const allocate = async (scenario: Scenario, durationSec: number): Promise<RunParams> => {
    if (!scenario.consumes) return { seqStart: 0, seqEnd: 1 };
    // Enough for this run at up to 5,000 req/s; a shortfall wraps around and shows as non-2xx.
    const size = Math.max(1, Math.ceil(durationSec * 5000));
    const params = { seqStart: seq, seqEnd: seq + size };
    seq += size;
    if (scenario.name === "refresh") {
      await insertRefreshTokens(benchUrl, data.refreshPrefix, params.seqStart, params.seqEnd);
    }
    return params;
  };

  try {
    const differences = await checkBaselineSql({
      benchUrl,
      env: { ...serviceEnv, LOG_LEVEL: "silent" },
      data,
      scenarios: SCENARIOS,
      params: (scenario) => allocate(scenario, 0),
    });
    if (differences.length === 0) {
      log("sql check: the baseline sends the same SQL as the service in every mirrored scenario");
    } else {
      const note = `sql check: the baseline's SQL differs from the service's (update scripts/bench/baseline-sql.ts):\n  ${differences.join("\n  ")}`;
      log(note);
      notes.push(note);
    }
  } catch (error) {
    const note = `sql check could not run: ${error instanceof Error ? error.message : String(error)}`;
    log(note);
    notes.push(note);
  }

  const dataFile = join(work, "load-data.json");
  writeFileSync(dataFile, JSON.stringify(data));
  const load = new LoadProcess(forkTs(join(HERE, "load.ts"), [dataFile], ROOT));
  stoppers.push(() => stop(load.started));
  await load.ready;

  const targets: Record<Target["kind"], Target> = {
    service: { kind: "service", url: serviceUrl, pid: service.pid },
    baseline: { kind: "baseline", url: baselineUrl, pid: baseline.pid },
  };
  /** Responses each server gave under load (for CPU time per request in profiles). */
  const served = { service: 0, baseline: 0 };
  const run = async (
    scenario: Scenario,
    target: Target,
    durationSec: number,
    connections: number,
  ) => {
    const params = await allocate(scenario, durationSec);
    const cpu0 = cpuSeconds(target.pid);
    const ticks0 = machineTicks();
    const result = await load.send({
      type: "run",
      scenario: scenario.name,
      url: target.url,
      connections,
      durationSec,
      params,
    });
    const ticks1 = machineTicks();
    served[target.kind] += result.total;
    const ok = result.rps * result.durationSec;
    const side: Side = {
      rps: result.rps,
      p50: result.p50,
      p99: result.p99,
      errors: result.errors,
      non2xx: result.non2xx,
      cpuMsPerReq: ok > 0 ? ((cpuSeconds(target.pid) - cpu0) * 1000) / ok : 0,
    };
    const busy =
      ticks1.total > ticks0.total ? (ticks1.busy - ticks0.busy) / (ticks1.total - ticks0.total) : 0;
    return { side, busy, generatorCpu: result.generatorCpu };
  };
  const argon2 = async (op: "verify" | "hash", concurrency: number, durationSec: number) => {
    const r = await load.send({ type: "argon2", op, concurrency, durationSec });
    return { rps: r.rps, p50: r.p50, p99: r.p99, errors: 0, non2xx: 0, cpuMsPerReq: 0 };
  };

  // ---- scenarios -------------------------------------------------------------------------
  const results: ScenarioResult[] = [];
  const selected = SCENARIOS.filter((s) => !options.only || options.only.has(s.name));
  for (const scenario of selected) {
    const connections = scenario.connections ?? options.connections;
    const againstBaseline = scenario.compare === "baseline";
    // A hashing request waits its turn behind up to 50 others (~1–2 s on 2 cores): rounds much
    // shorter than that count only the few that finish in time, so these get at least 5 s.
    const seconds = againstBaseline
      ? options.durationSec
      : Math.max(options.durationSec, HASHING_MIN_SECONDS);
    // One request to each side first: a scenario that fails says so here, not only in counts.
    for (const target of againstBaseline
      ? [targets.service, targets.baseline]
      : [targets.service]) {
      const problem = await probe(scenario, data, await allocate(scenario, 0), target.url);
      if (problem) {
        const note = `${scenario.name} on the ${target.kind}: ${problem}`;
        log(`warning: ${note}`);
        notes.push(note);
      }
    }
    await run(scenario, targets.service, options.warmupSec, connections);
    if (againstBaseline) await run(scenario, targets.baseline, options.warmupSec, connections);
    const service: Side[] = [];
    const ref: Side[] = [];
    const busy: number[] = [];
    const generator: number[] = [];
    for (let round = 0; round < options.rounds; round++) {
      const measured = await run(scenario, targets.service, seconds, connections);
      service.push(measured.side);
      busy.push(measured.busy);
      generator.push(measured.generatorCpu);
      if (againstBaseline) {
        ref.push((await run(scenario, targets.baseline, options.durationSec, connections)).side);
      } else {
        const op = scenario.compare === "argon2-hash" ? "hash" : "verify";
        ref.push(await argon2(op, connections, seconds));
      }
    }
    const result: ScenarioResult = {
      name: scenario.name,
      connections,
      reference: scenario.compare,
      service: combine(service),
      ref: combine(ref),
      machineBusy: median(busy),
      generatorCpu: median(generator),
      rounds: { service, ref },
      peakMbAfter: memory(targets.service.pid)?.hwm,
    };
    if (scenario.singleClient) {
      const next = scenario.requests(data, { seqStart: 0, seqEnd: 1 });
      const requests = Array.from({ length: 22 }, next);
      result.singleClientMs = {
        service: await singleClient(requests, serviceUrl),
        baseline: await singleClient(requests, baselineUrl),
      };
      result.plan = await listPlan(scenario.name, benchUrl, data);
    }
    results.push(result);
    log(progressLine(result, elapsed()));
  }

  const peak = memory(service.pid);
  // Stopped in order so the service writes its CPU profile on a clean exit.
  await stopAll();
  const rss = { idleMb: idle?.rss ?? 0, peakMb: peak?.hwm ?? 0 };

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
  for (const note of notes) console.log(note);
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
  writeFileSync(
    file,
    `${JSON.stringify(resultsJson(machine, config, results, rss, notes), null, 2)}\n`,
  );
  console.log(`wrote ${file} (${elapsed()} in all)`);

  if (options.cpuProf) {
    const { summarize } = await import("./profile-summary.ts");
    for (const name of ["service", "baseline"] as const) {
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
}

function progressLine(r: ScenarioResult, elapsed: string): string {
  const ref = r.reference === "baseline" ? "baseline" : `raw ${r.reference}`;
  const ratio = r.ref.rps > 0 ? (r.service.rps / r.ref.rps).toFixed(2) : "-";
  const bad = r.service.errors + r.service.non2xx;
  const refBad = r.ref.errors + r.ref.non2xx;
  return `${r.name.padEnd(31)} ${fmtInt(r.service.rps).padStart(6)} req/s, p99 ${r.service.p99.toFixed(0)} ms | ${ref} ${fmtInt(r.ref.rps)} req/s | ratio ${ratio}${bad ? ` | service ${bad} errors/non-2xx` : ""}${refBad ? ` | ${ref} ${refBad} errors/non-2xx` : ""} (${elapsed})`;
}

/** nextLinks of pages at 50%, 70% and 90% of the users: a $skip jump, then two nextLink hops. */
async function walkToDeepPages(
  serviceUrl: string,
  authorization: string,
  users: number,
): Promise<string[]> {
  const links: string[] = [];
  for (const depth of [0.5, 0.7, 0.9]) {
    let path = `/api/users?$top=100&$skip=${Math.floor(users * depth)}`;
    for (let hop = 0; hop < 3; hop++) {
      const response = await fetch(serviceUrl + path, {
        headers: { authorization },
        signal: AbortSignal.timeout(60_000),
      });
      const body = (await response.json()) as { nextLink?: string };
      if (!response.ok || !body.nextLink) {
        throw new Error(
          `walking to a deep page: ${response.status} ${JSON.stringify(body).slice(0, 200)}`,
        );
      }
      const next = new URL(body.nextLink);
      path = next.pathname + next.search;
    }
    links.push(path);
  }
  return links;
}

/** What `npm start` runs, without npm: package.json's start script is `node [flags] <entry>`. */
function startCommand(): { entry: string; nodeArgs: string[] } {
  const [command, ...args] = packageJson.scripts.start.split(/\s+/);
  const entry = args.pop();
  if (command !== "node" || entry === undefined) {
    throw new Error(`package.json: expected "start": "node [flags] <entry>"`);
  }
  return { entry, nodeArgs: args };
}

/** The service's own list-cursor key for these settings, base64url. */
async function serviceCursorKey(env: Record<string, string>): Promise<string> {
  const tokens = await createTokenService(loadConfig(env));
  return Buffer.from(tokens.cursorKey).toString("base64url");
}

/** One request; undefined when it succeeds, else its status and the start of its body. */
async function probe(
  scenario: Scenario,
  data: LoadData,
  params: RunParams,
  baseUrl: string,
): Promise<string | undefined> {
  const request = scenario.requests(data, params)();
  try {
    const response = await fetch(baseUrl + request.path, {
      method: request.method,
      headers: request.headers,
      ...(request.body !== undefined && { body: request.body }),
      signal: AbortSignal.timeout(30_000),
    });
    const body = await response.text();
    return response.ok ? undefined : `${response.status} ${body.slice(0, 200)}`;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/**
 * Median of 20 sequential requests (after 2 untimed ones), one client. Both servers get the same
 * 22 requests, so a filter's selectivity does not differ between them.
 */
async function singleClient(requests: BenchRequest[], baseUrl: string): Promise<number> {
  const times: number[] = [];
  for (const [i, request] of requests.entries()) {
    const started = performance.now();
    const response = await fetch(baseUrl + request.path, {
      method: request.method,
      headers: request.headers,
      ...(request.body !== undefined && { body: request.body }),
      signal: AbortSignal.timeout(30_000),
    });
    await response.arrayBuffer();
    if (i >= 2) times.push(performance.now() - started);
  }
  return median(times);
}

async function listPlan(name: string, benchUrl: string, data: LoadData) {
  const limit = 101;
  switch (name) {
    case "list-email-eq":
      return explainScans(benchUrl, LIST.emailEq, {
        count: [data.emails[0]],
        rows: [data.emails[0], limit],
      });
    case "list-lastname-startswith-count": {
      const value = `${data.lastNamePrefixes[0]}%`;
      return explainScans(benchUrl, LIST.lastNameStartsWith, {
        count: [value],
        rows: [value, limit],
      });
    }
    case "list-email-contains": {
      const value = `%${data.emailFragments[0]}%`;
      return explainScans(benchUrl, LIST.emailContains, { count: [value], rows: [value, limit] });
    }
    default: {
      const [min, max] = data.idRange;
      return explainScans(benchUrl, LIST.after, {
        count: [],
        rows: [Math.floor(min + 0.9 * (max - min)), limit],
      });
    }
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
