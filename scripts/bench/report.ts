// The bench's output: a plain-text table for the terminal and the shape of bench/results.json.

export type Side = {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  /** CPU milliseconds the server process used per 2xx response (0 for raw argon2). */
  cpuMsPerReq: number;
};

export type ScenarioResult = {
  name: string;
  connections: number;
  reference: "baseline" | "argon2-verify" | "argon2-hash";
  service: Side;
  /**
   * Equal work (scenarios against the baseline): the service with AUTH_CACHE_SECONDS=0, reading
   * the caller's auth state from the database on every request as the baseline does.
   */
  equal?: Side;
  /** The baseline server, or raw argon2 at the same concurrency. */
  ref: Side;
  /** Median of 20 sequential requests, one client (list scenarios). */
  singleClientMs?: { service: number; baseline: number };
  /** The list query's plan: the scan nodes of its count and rows statements. */
  plan?: { count: string; rows: string };
  /** The service's peak RSS (VmHWM) after this scenario, MiB. */
  peakMbAfter?: number;
  /** Whole-machine busy share during the service's rounds (1 = both cores saturated). */
  machineBusy: number;
  /** CPU the load generator used during the service's rounds, as a share of one core. */
  generatorCpu: number;
  rounds: { service: Side[]; equal?: Side[]; ref: Side[] };
  /** Each unmeasured warm-up round's req/s, per side: more of them until throughput settled. */
  warmup: { service: number[]; equal?: number[]; ref: number[] };
};

/** The limit server on one of its scenarios: what this machine does with the least code. */
export type LimitResult = {
  name: string;
  connections: number;
  side: Side;
  machineBusy: number;
  rounds: Side[];
  /** Each unmeasured warm-up round's req/s. */
  warmup: number[];
};

/** The service's scenario set beside the limit: the same request, a user by id, done fully. */
const BESIDE_LIMIT = "get-by-id-rest";

const round = (n: number, digits = 1) => Number(n.toFixed(digits));

/** A side's throughput over the reference's, undefined when the reference answered nothing. */
export function ratioOf(side: Side | undefined, ref: Side): number | undefined {
  return side && ref.rps > 0 ? side.rps / ref.rps : undefined;
}
const fmtRatio = (ratio: number | undefined) => (ratio === undefined ? "-" : ratio.toFixed(2));

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  if (sorted.length === 0) return 0;
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/** Median throughput and latencies over the rounds; errors summed. */
export function combine(rounds: Side[]): Side {
  return {
    rps: median(rounds.map((r) => r.rps)),
    p50: median(rounds.map((r) => r.p50)),
    p99: median(rounds.map((r) => r.p99)),
    errors: rounds.reduce((n, r) => n + r.errors, 0),
    non2xx: rounds.reduce((n, r) => n + r.non2xx, 0),
    cpuMsPerReq: median(rounds.map((r) => r.cpuMsPerReq)),
  };
}

const REF_LABEL = {
  baseline: "baseline",
  "argon2-verify": "argon2 verify",
  "argon2-hash": "argon2 hash",
};

export function table(results: ScenarioResult[]): string {
  const header = [
    "scenario",
    "conn",
    "req/s",
    "p50 ms",
    "p99 ms",
    "err",
    "non2xx",
    "ref req/s",
    "ref err",
    "ratio",
    "eq ratio",
    "ref",
    "cpu ms/req svc|eq|base",
    "1-client ms svc|base",
    "busy",
  ];
  const rows = results.map((r) => [
    r.name,
    String(r.connections),
    fmt(r.service.rps),
    fmt(r.service.p50),
    fmt(r.service.p99),
    String(r.service.errors),
    String(r.service.non2xx),
    fmt(r.ref.rps),
    String(r.ref.errors + r.ref.non2xx),
    fmtRatio(ratioOf(r.service, r.ref)),
    fmtRatio(ratioOf(r.equal, r.ref)),
    REF_LABEL[r.reference],
    r.reference === "baseline"
      ? [r.service, ...(r.equal ? [r.equal] : []), r.ref]
          .map((side) => fmt(side.cpuMsPerReq, 2))
          .join("|")
      : fmt(r.service.cpuMsPerReq, 2),
    r.singleClientMs ? `${fmt(r.singleClientMs.service)}|${fmt(r.singleClientMs.baseline)}` : "",
    `${Math.round(r.machineBusy * 100)}%`,
  ]);
  const widths = header.map((h, i) =>
    Math.max(h.length, ...rows.map((row) => (row[i] ?? "").length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, i) =>
        i === 0 || i === 11 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0),
      )
      .join("  ");
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

function fmt(n: number, digits?: number): string {
  if (!Number.isFinite(n)) return "-";
  if (digits !== undefined) return n.toFixed(digits);
  if (n >= 100) return Math.round(n).toLocaleString("en-US");
  return n.toFixed(n >= 10 ? 1 : 2);
}

export type Machine = { cpus: number; model: string; node: string; pg: string };

/** bench/results.json: the shape the issue asks for, with the details after it. */
export function resultsJson(
  machine: Machine,
  config: Record<string, unknown>,
  results: ScenarioResult[],
  rss: { idleMb: number; peakMb: number },
  notes: string[],
  limits: LimitResult[],
) {
  const scenarios = Object.fromEntries(
    results.map((r) => [
      r.name,
      {
        rps: round(r.service.rps),
        p50: round(r.service.p50, 2),
        p99: round(r.service.p99, 2),
        baselineRps: round(r.ref.rps),
        ratio: nullableRatio(ratioOf(r.service, r.ref)),
        ...(r.equal && {
          // The same scenario with AUTH_CACHE_SECONDS=0: the service doing the baseline's work.
          equalWork: {
            rps: round(r.equal.rps),
            p50: round(r.equal.p50, 2),
            p99: round(r.equal.p99, 2),
            ratio: nullableRatio(ratioOf(r.equal, r.ref)),
            errors: r.equal.errors,
            non2xx: r.equal.non2xx,
            cpuMsPerReq: round(r.equal.cpuMsPerReq, 3),
          },
        }),
        errors: r.service.errors,
        non2xx: r.service.non2xx,
        reference: r.reference,
        connections: r.connections,
        baselineP50: round(r.ref.p50, 2),
        baselineP99: round(r.ref.p99, 2),
        baselineErrors: r.ref.errors,
        baselineNon2xx: r.ref.non2xx,
        cpuMsPerReq: round(r.service.cpuMsPerReq, 3),
        baselineCpuMsPerReq: round(r.ref.cpuMsPerReq, 3),
        machineBusy: round(r.machineBusy, 2),
        generatorCpu: round(r.generatorCpu, 2),
        ...(r.singleClientMs && {
          singleClientMs: {
            service: round(r.singleClientMs.service, 2),
            baseline: round(r.singleClientMs.baseline, 2),
          },
        }),
        ...(r.plan && { plan: r.plan }),
        ...(r.peakMbAfter !== undefined && { peakMbAfter: round(r.peakMbAfter) }),
        rounds: {
          service: r.rounds.service.map((s) => round(s.rps)),
          ...(r.rounds.equal && { equalWork: r.rounds.equal.map((s) => round(s.rps)) }),
          reference: r.rounds.ref.map((s) => round(s.rps)),
        },
        warmup: {
          service: r.warmup.service.map((rps) => round(rps)),
          ...(r.warmup.equal && { equalWork: r.warmup.equal.map((rps) => round(rps)) }),
          reference: r.warmup.ref.map((rps) => round(rps)),
        },
      },
    ]),
  );
  const limit = Object.fromEntries(
    limits.map((l) => [
      l.name,
      {
        rps: round(l.side.rps),
        p50: round(l.side.p50, 2),
        p99: round(l.side.p99, 2),
        errors: l.side.errors,
        non2xx: l.side.non2xx,
        connections: l.connections,
        cpuMsPerReq: round(l.side.cpuMsPerReq, 3),
        machineBusy: round(l.machineBusy, 2),
        ...(serviceShare(l, results) !== undefined && {
          [`${BESIDE_LIMIT}Share`]: round(serviceShare(l, results) ?? 0, 3),
        }),
        rounds: l.rounds.map((side) => round(side.rps)),
        warmup: l.warmup.map((rps) => round(rps)),
      },
    ]),
  );
  return {
    machine,
    scenarios,
    limit,
    rss: { idleMb: round(rss.idleMb), peakMb: round(rss.peakMb) },
    config,
    notes,
  };
}

const nullableRatio = (ratio: number | undefined) => (ratio === undefined ? null : round(ratio, 3));

export const fmtInt = (n: number) => Math.round(n).toLocaleString("en-US");

/** The service's get-by-id-rest throughput as a share of a limit scenario's, when both ran. */
function serviceShare(limit: LimitResult, results: ScenarioResult[]): number | undefined {
  const beside = results.find((r) => r.name === BESIDE_LIMIT);
  return beside && limit.side.rps > 0 ? beside.service.rps / limit.side.rps : undefined;
}

/** The line printed as each limit scenario finishes. */
export function limitLine(l: LimitResult, results: ScenarioResult[], elapsed?: string): string {
  const share = serviceShare(l, results);
  const beside =
    share === undefined ? "" : ` | the service's ${BESIDE_LIMIT}: ${share.toFixed(2)} of it`;
  return `${l.name.padEnd(31)} ${fmtInt(l.side.rps).padStart(6)} req/s, p99 ${l.side.p99.toFixed(0)} ms, ${l.side.cpuMsPerReq.toFixed(2)} ms CPU/req (bare node:http)${beside}${elapsed ? ` (${elapsed})` : ""}`;
}

/** The line printed as each scenario finishes. */
export function progressLine(r: ScenarioResult, elapsed: string): string {
  const ref = r.reference === "baseline" ? "baseline" : `raw ${r.reference}`;
  const ratio = fmtRatio(ratioOf(r.service, r.ref));
  const bad = r.service.errors + r.service.non2xx;
  const refBad = r.ref.errors + r.ref.non2xx;
  const equal = r.equal
    ? ` | memory off ${fmtInt(r.equal.rps)} req/s, ratio ${fmtRatio(ratioOf(r.equal, r.ref))}${r.equal.errors + r.equal.non2xx ? `, ${r.equal.errors + r.equal.non2xx} errors/non-2xx` : ""}`
    : "";
  return `${r.name.padEnd(31)} ${fmtInt(r.service.rps).padStart(6)} req/s, p99 ${r.service.p99.toFixed(0)} ms | ${ref} ${fmtInt(r.ref.rps)} req/s | ratio ${ratio}${equal}${bad ? ` | service ${bad} errors/non-2xx` : ""}${refBad ? ` | ${ref} ${refBad} errors/non-2xx` : ""} (${elapsed})`;
}
