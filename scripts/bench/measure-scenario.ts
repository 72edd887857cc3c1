// One scenario, measured: a probe of each side, a warm-up, then the rounds, alternating the
// service and its reference; list scenarios also get one client's latency and the query plan.

import { LIST } from "./baseline-sql.ts";
import type { Allocate } from "./load-data.ts";
import type { LoadProcess, Target } from "./load-process.ts";
import type { Options } from "./options.ts";
import { explainScans } from "./plans.ts";
import { memory } from "./processes.ts";
import { combine, type LimitResult, median, type ScenarioResult, type Side } from "./report.ts";
import type { BenchRequest, LoadData, LoadScenario, RunParams, Scenario } from "./scenarios.ts";

/** Shortest measured round for login and signup (see measureScenario). */
const HASHING_MIN_SECONDS = 5;

export type Bench = {
  options: Options;
  data: LoadData;
  load: LoadProcess;
  targets: Record<Target["kind"], Target>;
  allocate: Allocate;
  benchUrl: string;
  /** Says a problem now and keeps it for the report. */
  warn: (note: string) => void;
};

export async function measureScenario(scenario: Scenario, bench: Bench): Promise<ScenarioResult> {
  const { options, data, load, targets, allocate } = bench;
  const connections = scenario.connections ?? options.connections;
  const againstBaseline = scenario.compare === "baseline";
  // A hashing request waits its turn behind up to 50 others (~1–2 s on 2 cores): rounds much
  // shorter than that count only the few that finish in time, so these get at least 5 s.
  const seconds = againstBaseline
    ? options.durationSec
    : Math.max(options.durationSec, HASHING_MIN_SECONDS);
  // One request to each side first: a scenario that fails says so here, not only in counts.
  const sides = againstBaseline
    ? [targets.service, targets.equal, targets.baseline]
    : [targets.service];
  for (const target of sides) {
    const problem = await probe(scenario, data, await allocate(scenario, 0), target.url);
    if (problem) bench.warn(`${scenario.name} on the ${target.kind}: ${problem}`);
  }
  const run = (target: Target, durationSec: number) =>
    load.run(scenario, target, durationSec, connections, allocate);
  const op = scenario.compare === "argon2-hash" ? "hash" : "verify";
  // Hashing warms up in rounds as long as measured ones, for the reason above.
  const warmupSec = againstBaseline ? options.warmupSec : seconds;
  const warmup = {
    service: await warmUp(async () => (await run(targets.service, warmupSec)).side),
    ...(againstBaseline && {
      equal: await warmUp(async () => (await run(targets.equal, warmupSec)).side),
    }),
    ref: await warmUp(async () =>
      againstBaseline
        ? (await run(targets.baseline, warmupSec)).side
        : load.argon2(op, connections, warmupSec),
    ),
  };
  const service: Side[] = [];
  const equal: Side[] = [];
  const ref: Side[] = [];
  const busy: number[] = [];
  const generator: number[] = [];
  for (let round = 0; round < options.rounds; round++) {
    const measured = await run(targets.service, seconds);
    service.push(measured.side);
    busy.push(measured.busy);
    generator.push(measured.generatorCpu);
    if (againstBaseline) {
      // Equal work: the same build reading the caller's auth state on every request, as the
      // baseline does; its rounds alternate with the other two so drift hits all three alike.
      equal.push((await run(targets.equal, options.durationSec)).side);
      ref.push((await run(targets.baseline, options.durationSec)).side);
    } else {
      ref.push(await load.argon2(op, connections, seconds));
    }
  }
  const result: ScenarioResult = {
    name: scenario.name,
    connections,
    reference: scenario.compare,
    service: combine(service),
    ...(againstBaseline && { equal: combine(equal) }),
    ref: combine(ref),
    machineBusy: median(busy),
    generatorCpu: median(generator),
    rounds: { service, ...(againstBaseline && { equal }), ref },
    warmup,
    peakMbAfter: memory(targets.service.pid)?.hwm,
  };
  if (scenario.singleClient) {
    const next = scenario.requests(data, { seqStart: 0, seqEnd: 1 });
    const requests = Array.from({ length: 22 }, next);
    result.singleClientMs = {
      service: await singleClient(requests, targets.service.url),
      baseline: await singleClient(requests, targets.baseline.url),
    };
    result.plan = await listPlan(scenario.name, bench.benchUrl, data);
  }
  return result;
}

/**
 * A limit scenario on the limit server alone, warmed up and measured like the service's side of a
 * scenario (the same rounds, duration and connections).
 */
export async function measureLimit(scenario: LoadScenario, bench: Bench): Promise<LimitResult> {
  const { options, load, targets, allocate } = bench;
  const connections = scenario.connections ?? options.connections;
  const run = async (durationSec: number) =>
    load.run(scenario, targets.limit, durationSec, connections, allocate);
  const warmup = await warmUp(async () => (await run(options.warmupSec)).side);
  const rounds: Side[] = [];
  const busy: number[] = [];
  for (let round = 0; round < options.rounds; round++) {
    const measured = await run(options.durationSec);
    rounds.push(measured.side);
    busy.push(measured.busy);
  }
  return {
    name: scenario.name,
    connections,
    side: combine(rounds),
    machineBusy: median(busy),
    rounds,
    warmup,
  };
}

/** Warm-up rounds at least, and at most (see warmUp). */
const WARMUP_ROUNDS = { min: 2, max: 6 };
/** Two warm-up rounds this close in throughput mean the side is warm. */
const STEADY_WITHIN = 0.1;

/**
 * Unmeasured load on one side before its rounds, until its throughput settles: a scenario's first
 * seconds run code the JIT has not optimised for it and rows PostgreSQL has not cached yet, and
 * measured cold they read slow (the first scenario of a --quick run read 0.76 where the same build
 * read 1.3–1.5 warm). Returns each warm-up round's req/s, for results.json.
 */
export async function warmUp(round: () => Promise<Side>): Promise<number[]> {
  const rates: number[] = [];
  while (rates.length < WARMUP_ROUNDS.max) {
    rates.push((await round()).rps);
    const [before, last] = rates.slice(-2);
    // Nothing answered is no steady state: the rounds were too short to see one.
    const steady =
      before !== undefined &&
      last !== undefined &&
      last > 0 &&
      Math.abs(last - before) <= STEADY_WITHIN * before;
    if (rates.length >= WARMUP_ROUNDS.min && steady) break;
  }
  return rates;
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
