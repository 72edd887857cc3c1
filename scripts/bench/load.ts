// The load generator, in a process of its own so it never shares an event loop with the servers
// or the orchestrator. Forked by run.ts with an IPC channel; it answers one message at a time:
//   {type: "run", …}    autocannon against one target with one scenario's requests
//   {type: "argon2", …} raw @node-rs/argon2 throughput at a given concurrency (the reference for
//                       login and signup), measured here while the servers sit idle

import { readFileSync } from "node:fs";
import { hash, verify } from "@node-rs/argon2";
import autocannon from "autocannon";
import { ARGON2_OPTIONS } from "../../server/passwords/hash.ts";
import { LIMIT_SCENARIOS, type LoadData, type RunParams, SCENARIOS } from "./scenarios.ts";

export type RunMessage = {
  type: "run";
  id: number;
  scenario: string;
  url: string;
  connections: number;
  durationSec: number;
  params: RunParams;
};
export type Argon2Message = {
  type: "argon2";
  id: number;
  op: "verify" | "hash";
  concurrency: number;
  durationSec: number;
};
export type LoadResult = {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  total: number;
  durationSec: number;
  /** CPU the load process itself used, as a share of one core (a saturated generator shows ~1). */
  generatorCpu: number;
};
export type Reply = { id: number; result?: LoadResult; error?: string };

const dataFile = process.argv[2];
if (!dataFile || !process.send) {
  console.error("load.ts is started by scripts/bench/run.ts");
  process.exit(2);
}
const data = JSON.parse(readFileSync(dataFile, "utf8")) as LoadData;

async function runLoad(message: RunMessage): Promise<LoadResult> {
  const scenario = [...SCENARIOS, ...LIMIT_SCENARIOS].find((s) => s.name === message.scenario);
  if (!scenario) throw new Error(`unknown scenario ${message.scenario}`);
  const next = scenario.requests(data, message.params);
  const cpu = process.cpuUsage();
  const result = await autocannon({
    url: message.url,
    connections: message.connections,
    duration: message.durationSec,
    timeout: 10,
    requests: [
      {
        setupRequest: (request) => {
          const r = next();
          return {
            ...request,
            method: r.method,
            path: r.path,
            headers: r.headers,
            body: r.body ?? "",
          };
        },
      },
    ],
  });
  const used = process.cpuUsage(cpu);
  return {
    rps: result["2xx"] / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    total: result["2xx"] + result.non2xx,
    durationSec: result.duration,
    generatorCpu: (used.user + used.system) / 1e6 / result.duration,
  };
}

/** `concurrency` loops each running verify (or hash) back to back until the time is up. */
async function runArgon2(message: Argon2Message): Promise<LoadResult> {
  const latencies: number[] = [];
  const until = performance.now() + message.durationSec * 1000;
  const started = performance.now();
  const once =
    message.op === "verify"
      ? () => verify(data.passwordHash, data.password)
      : () => hash(data.password, ARGON2_OPTIONS);
  const loop = async () => {
    while (performance.now() < until) {
      const t = performance.now();
      await once();
      latencies.push(performance.now() - t);
    }
  };
  await Promise.all(Array.from({ length: message.concurrency }, loop));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0;
  return {
    rps: latencies.length / seconds,
    p50: at(0.5),
    p99: at(0.99),
    errors: 0,
    timeouts: 0,
    non2xx: 0,
    total: latencies.length,
    durationSec: seconds,
    generatorCpu: 0,
  };
}

process.on("message", (message: RunMessage | Argon2Message) => {
  const work = message.type === "run" ? runLoad(message) : runArgon2(message);
  work.then(
    (result) => process.send?.({ id: message.id, result } satisfies Reply),
    (error: unknown) => process.send?.({ id: message.id, error: String(error) } satisfies Reply),
  );
});
// The orchestrator going away ends this process too.
process.on("disconnect", () => process.exit(0));
process.send({ id: 0 } satisfies Reply);
