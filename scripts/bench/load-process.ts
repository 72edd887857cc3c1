// The load generator runs in a process of its own (so its CPU is not the servers'); this side
// asks it for one run at a time and turns its figures into a Side of the report.

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Argon2Message, LoadResult, Reply, RunMessage } from "./load.ts";
import type { Allocate } from "./load-data.ts";
import { cpuSeconds, forkTs, machineTicks, type Started } from "./processes.ts";
import type { Side } from "./report.ts";
import type { LoadData, LoadScenario } from "./scenarios.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const HERE = fileURLToPath(new URL("./", import.meta.url));

/** `equal`: the service with AUTH_CACHE_SECONDS=0, doing the baseline's work per request. */
export type Target = {
  kind: "service" | "equal" | "baseline" | "limit";
  url: string;
  pid: number;
};

/** A run against one server: its start and end on the monotonic clock, in µs; its responses. */
export type LoadWindow = { startUs: number; endUs: number; requests: number };

const monotonicMicros = () => Number(process.hrtime.bigint() / 1000n);

/** One measured run: the server's side of the report, how busy the machine was, the generator's CPU. */
export type Measured = { side: Side; busy: number; generatorCpu: number };

/** The load process, spoken to one message at a time, each with a deadline. */
export class LoadProcess {
  private nextId = 1;
  private waiting = new Map<number, (reply: Reply) => void>();
  readonly ready: Promise<void>;
  /**
   * Each server's runs under load: when (CLOCK_MONOTONIC µs, the clock of V8's CPU profiles) and
   * how many responses, so a profile's CPU per request leaves out start-up and idle time.
   */
  readonly served: Record<Target["kind"], LoadWindow[]> = {
    service: [],
    equal: [],
    baseline: [],
    limit: [],
  };

  /** Starts load.ts on `data` (written to a file in `work`); wait for `ready`. */
  static start(data: LoadData, work: string): LoadProcess {
    const dataFile = join(work, "load-data.json");
    writeFileSync(dataFile, JSON.stringify(data));
    return new LoadProcess(forkTs(join(HERE, "load.ts"), [dataFile], ROOT));
  }

  private constructor(readonly started: Started) {
    this.ready = new Promise((resolve) => this.waiting.set(0, () => resolve()));
    started.child.on("message", (reply: Reply) => {
      const resolve = this.waiting.get(reply.id);
      this.waiting.delete(reply.id);
      resolve?.(reply);
    });
  }

  private async send(
    message: Omit<RunMessage, "id"> | Omit<Argon2Message, "id">,
  ): Promise<LoadResult> {
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

  /** The scenario against one server, with the server's CPU time and the machine's load. */
  async run(
    scenario: LoadScenario,
    target: Target,
    durationSec: number,
    connections: number,
    allocate: Allocate,
  ): Promise<Measured> {
    const params = await allocate(scenario, durationSec);
    const cpu0 = cpuSeconds(target.pid);
    const ticks0 = machineTicks();
    const startUs = monotonicMicros();
    const result = await this.send({
      type: "run",
      scenario: scenario.name,
      url: target.url,
      connections,
      durationSec,
      params,
    });
    const ticks1 = machineTicks();
    this.served[target.kind].push({
      startUs,
      endUs: monotonicMicros(),
      requests: result.total,
    });
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
  }

  /** Raw argon2 in the load process: the reference for the hashing scenarios. */
  async argon2(op: "verify" | "hash", concurrency: number, durationSec: number): Promise<Side> {
    const r = await this.send({ type: "argon2", op, concurrency, durationSec });
    return { rps: r.rps, p50: r.p50, p99: r.p99, errors: 0, non2xx: 0, cpuMsPerReq: 0 };
  }
}
