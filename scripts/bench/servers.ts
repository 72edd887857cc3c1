// The servers the bench measures: the service as `npm start` runs it, the baseline it is compared
// with, and the bare limit server beside them.

import { join } from "node:path";
import { fileURLToPath } from "node:url";
import packageJson from "../../package.json" with { type: "json" };
import { createTokenService } from "../../server/auth/tokens.ts";
import { loadConfig } from "../../server/config.ts";
import { buildService } from "../build.ts";
import {
  freePort,
  type MemoryMb,
  memory,
  type Started,
  sleep,
  startNode,
  startTs,
  waitReady,
} from "./processes.ts";
import { BENCH_AUDIENCE, BENCH_ISSUER, BENCH_JWT_SECRET, BENCH_TOKEN_TTL } from "./tokens.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const HERE = fileURLToPath(new URL("./", import.meta.url));

export type Servers = {
  service: Started;
  serviceUrl: string;
  /**
   * The same build with AUTH_CACHE_SECONDS=0: it reads the caller's auth state from the database
   * on every request, as the baseline does (equal work).
   */
  equal: Started;
  equalUrl: string;
  /** The service's settings (the SQL check builds the same app in-process from them). */
  serviceEnv: Record<string, string>;
  baseline: Started;
  baselineUrl: string;
  /** The physical limit beside the service (limit-server.ts). */
  limit: Started;
  limitUrl: string;
  /** The service's memory once ready and idle. */
  idle: MemoryMb | undefined;
};

/**
 * Builds and starts the service (twice: as configured, and with the auth memory off) and starts the baseline and the limit server beside it (all idle
 * until the load starts), and waits until all are ready. `started` hears of each process as soon as it runs,
 * so it is stopped whatever happens next.
 */
export async function startServers(setup: {
  benchUrl: string;
  /** Where the servers' logs go. */
  benchDir: string;
  /** A scratch folder of this run's. */
  work: string;
  /** Node flags for a server's CPU profile, by name ("service", "baseline"); none when off. */
  profile: (name: string) => string[];
  started: (process: Started) => void;
}): Promise<Servers> {
  const servicePort = await freePort();
  const serviceUrl = `http://127.0.0.1:${servicePort}`;
  const env = { ...process.env };
  const foreign = ["ADMIN_EMAIL", "ADMIN_PASSWORD", "SMTP_URL", "APP_URL", "REDIS_URL"];
  const otherKeys = ["JWT_PREVIOUS_SECRETS", "JWT_PRIVATE_KEY", "JWT_PREVIOUS_PUBLIC_KEYS"];
  for (const name of [...foreign, ...otherKeys]) {
    delete env[name];
  }
  const shared = {
    DATABASE_URL: setup.benchUrl,
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
    DATA_DIR: join(setup.work, "service-data"),
  };
  // As `npm start` runs it: the build in dist/, with the start script's Node flags.
  await buildService();
  const start = startCommand();
  const service = startNode(start.entry, {
    cwd: ROOT,
    env: serviceEnv,
    logFile: join(setup.benchDir, "service.log"),
    nodeArgs: [...start.nodeArgs, ...setup.profile("service")],
  });
  setup.started(service);
  const equalPort = await freePort();
  const equalUrl = `http://127.0.0.1:${equalPort}`;
  const equal = startNode(start.entry, {
    cwd: ROOT,
    env: {
      ...serviceEnv,
      AUTH_CACHE_SECONDS: "0",
      PORT: String(equalPort),
      PUBLIC_URL: equalUrl,
      DATA_DIR: join(setup.work, "equal-data"),
    },
    logFile: join(setup.benchDir, "service-equal.log"),
    nodeArgs: [...start.nodeArgs, ...setup.profile("equal")],
  });
  setup.started(equal);
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
    logFile: join(setup.benchDir, "baseline.log"),
    nodeArgs: setup.profile("baseline"),
  });
  setup.started(baseline);
  const limitPort = await freePort();
  const limitUrl = `http://127.0.0.1:${limitPort}`;
  const limit = startTs(join(HERE, "limit-server.ts"), {
    cwd: ROOT,
    env: { ...env, DATABASE_URL: setup.benchUrl, PORT: String(limitPort) },
    logFile: join(setup.benchDir, "limit.log"),
    nodeArgs: setup.profile("limit"),
  });
  setup.started(limit);
  await Promise.all([
    waitReady(`${serviceUrl}/readyz`, service, 60_000),
    waitReady(`${equalUrl}/readyz`, equal, 60_000),
    waitReady(`${baselineUrl}/readyz`, baseline, 60_000),
    waitReady(`${limitUrl}/readyz`, limit, 60_000),
  ]);
  await sleep(1000);
  return {
    service,
    serviceUrl,
    serviceEnv,
    equal,
    equalUrl,
    baseline,
    baselineUrl,
    limit,
    limitUrl,
    idle: memory(service.pid),
  };
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
