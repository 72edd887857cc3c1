// `npm run bench`'s command line and the database it needs: read once, before anything starts.

import { SCENARIO_NAMES } from "./scenarios.ts";

export const HELP = `npm run bench [-- options]

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

export type Options = {
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

/** A command line the bench refuses: one line, exit status 2. */
export class UsageError extends Error {}

export function parseOptions(argv: string[]): Options {
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
export function serverUrlOrExit(): string {
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

export function exitWith(message: string): never {
  console.error(message);
  process.exit(2);
}
