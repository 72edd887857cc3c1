// Helpers for the reliability suite: real server processes on loopback, fresh databases on the
// machine's PostgreSQL, throwaway PostgreSQL clusters. Every child process started here is
// tracked and killed by `killAllServers()` (each test file's afterAll) and on process exit.

import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  chownSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { expect } from "vitest";
import { freePort } from "../../scripts/bench/processes.ts";
import type { SmtpTestServer } from "../helpers/mail-harness.ts";
import { type NodeRun, outputOf, ROOT, spawnNode } from "../helpers/spawn.ts";

export { freePort };

/** Passes the password policy; used for every account of the suite. */
export const PASSWORD = "violet-harbor-quantum-7-lantern";
export const NEW_PASSWORD = "amber-glacier-tandem-42-orchard";
export const ADMIN_EMAIL = "root-admin@example.com";
/** The same on every process of a test (multi-process needs it). */
export const JWT_SECRET = "reliability-suite-jwt-secret-0123456789abcdef";

/** The machine's PostgreSQL server; each test makes a database of its own there. */
export const PG_SERVER_URL =
  process.env.RELIABILITY_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it returns a value other than undefined/false, or throws on timeout. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  { timeoutMs = 10_000, intervalMs = 50 } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value as T;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`, { cause: lastError });
    }
    await sleep(intervalMs);
  }
}

// ---------------------------------------------------------------------------------------------
// HTTP: one fresh connection per request (no pooled keep-alive sockets to a dying server), and
// a client-side timeout so that a hanging server fails a test instead of stalling the suite.

export type ApiResponse = {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  text: string;
  ms: number;
};

export type ApiOptions = { body?: unknown; token?: string | undefined; timeoutMs?: number };

export class RequestTimeout extends Error {}

export function api(
  baseUrl: string,
  method: string,
  path: string,
  options: ApiOptions = {},
): Promise<ApiResponse> {
  const started = performance.now();
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  const headers: Record<string, string> = { connection: "close" };
  if (payload !== undefined) {
    headers["content-type"] = "application/json";
    headers["content-length"] = String(Buffer.byteLength(payload));
  }
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const timeoutMs = options.timeoutMs ?? 10_000;
  return new Promise((resolve, reject) => {
    const req = httpRequest(new URL(path, baseUrl), { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("error", reject);
      res.on("end", () => {
        clearTimeout(timer);
        const text = Buffer.concat(chunks).toString("utf8");
        let body: unknown = text;
        try {
          body = text ? JSON.parse(text) : undefined;
        } catch {
          // not JSON: keep the text
        }
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body,
          text,
          ms: performance.now() - started,
        });
      });
    });
    const timer = setTimeout(() => {
      req.destroy(new RequestTimeout(`${method} ${path}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    req.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    req.end(payload);
  });
}

/** Like `api`, but a failure to connect (or a reset) is returned as `{error: code}`. */
export async function tryApi(
  baseUrl: string,
  method: string,
  path: string,
  options: ApiOptions = {},
): Promise<ApiResponse | { error: string; ms: number }> {
  const started = performance.now();
  try {
    return await api(baseUrl, method, path, options);
  } catch (error) {
    if (error instanceof RequestTimeout) throw error;
    const code = (error as { code?: string }).code ?? String(error);
    return { error: code, ms: performance.now() - started };
  }
}

export const bodyOf = (res: ApiResponse) => res.body as Record<string, unknown>;

/** Signs up (201) and logs in; returns the user's id and tokens. */
export async function signupAndLogin(baseUrl: string, email: string, password = PASSWORD) {
  const signup = await api(baseUrl, "POST", "/api/users/signup", {
    body: { email, password, firstName: "Rel", lastName: "Iability" },
  });
  if (signup.status !== 201) throw new Error(`signup ${signup.status}: ${signup.text}`);
  const tokens = await login(baseUrl, email, password);
  return { id: bodyOf(signup).id as number, ...tokens };
}

export async function login(baseUrl: string, email: string, password = PASSWORD) {
  const res = await api(baseUrl, "POST", "/api/auth/token", { body: { email, password } });
  if (res.status !== 200) throw new Error(`login ${email} ${res.status}: ${res.text}`);
  const body = bodyOf(res);
  return { accessToken: body.accessToken as string, refreshToken: body.refreshToken as string };
}

export const uniqueEmail = (tag: string) =>
  `${tag}-${Date.now().toString(36)}-${randomBytes(3).toString("hex")}@example.com`;

// ---------------------------------------------------------------------------------------------
// Server processes

export type ServerProcess = {
  url: string;
  port: number;
  pid: number;
  child: ChildProcess;
  /** Resolves when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  /** The last ~64 KB the process wrote (stdout and stderr), for failure messages. */
  output: () => string;
  isRunning: () => boolean;
  signal: (signal: NodeJS.Signals) => void;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it has exited. */
  stop: (graceMs?: number) => Promise<void>;
};

const children = new Set<ChildProcess>();

/** Env variables of the suite's own process that must not leak into a server under test. */
const SCRUBBED_ENV =
  /^(DATABASE_URL|JWT_|ADMIN_|SMTP_|REDIS_URL|PORT|HOST|DATA_DIR|DB_|RATE_LIMIT|LOG_LEVEL|PUBLIC_URL|APP_URL|NODE_OPTIONS|VITEST)/;

/**
 * Starts `server/main.ts` as a real process and waits for /readyz to answer 200.
 *
 * It runs `node --import tsx server/main.ts` rather than `npx tsx server/main.ts`: the tsx CLI
 * is a wrapper that runs the service in a second node process, so a SIGKILL sent to it would
 * leave the real server running (orphaned), and the exit code seen would be the wrapper's.
 */
export async function startServer(
  env: Record<string, string | undefined>,
  { readyTimeoutMs = 60_000, waitReady = true } = {},
): Promise<ServerProcess> {
  const port = env.PORT ? Number(env.PORT) : await freePort();
  const baseEnv = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !SCRUBBED_ENV.test(key)),
  );
  const child = spawn(process.execPath, ["--import", "tsx", "server/main.ts"], {
    cwd: ROOT,
    env: {
      ...baseEnv,
      NODE_ENV: "test",
      RATE_LIMIT: "off",
      LOG_LEVEL: "warn",
      JWT_SECRET,
      ...env,
      PORT: String(port),
      HOST: "127.0.0.1",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  let output = "";
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString("utf8")).slice(-64_000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>(
    (resolve) => {
      child.once("exit", (code, signal) => {
        children.delete(child);
        resolve({ code, signal, at: performance.now() });
      });
    },
  );
  const isRunning = () => child.exitCode === null && child.signalCode === null;
  const server: ServerProcess = {
    url: `http://127.0.0.1:${port}`,
    port,
    pid: child.pid ?? -1,
    child,
    exited,
    output: () => output,
    isRunning,
    signal: (signal) => {
      if (isRunning()) child.kill(signal);
    },
    stop: async (graceMs = 15_000) => {
      if (!isRunning()) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
  if (waitReady) {
    try {
      await waitFor(
        `server on port ${port} to be ready`,
        async () => {
          if (!isRunning()) {
            throw new Error(`server exited during start-up:\n${output}`);
          }
          const res = await tryApi(server.url, "GET", "/readyz", { timeoutMs: 2000 });
          return "status" in res && res.status === 200;
        },
        { timeoutMs: readyTimeoutMs, intervalMs: 100 },
      );
    } catch (error) {
      child.kill("SIGKILL");
      throw new Error(`${(error as Error).message}\n--- server output ---\n${output}`, {
        cause: error,
      });
    }
  }
  return server;
}

/** Runs one of `scripts/` as `npm run` does (through tsx), with the same clean env as a server. */
export function runScript(
  script: string,
  args: string[],
  env: Record<string, string | undefined>,
): Promise<NodeRun> {
  const baseEnv = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !SCRUBBED_ENV.test(key)),
  );
  const child = spawnNode([script, ...args], {
    cwd: ROOT,
    env: { ...baseEnv, NODE_ENV: "test", LOG_LEVEL: "warn", ...env },
  });
  children.add(child);
  return outputOf(child).finally(() => children.delete(child));
}

/** SIGKILLs every server process still running (afterAll of each file). */
export async function killAllServers(): Promise<void> {
  const waiting = [...children].map(
    (child) =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGKILL");
      }),
  );
  await Promise.all(waiting);
}

process.once("exit", () => {
  for (const child of children) child.kill("SIGKILL");
});

// ---------------------------------------------------------------------------------------------
// Databases on the machine's PostgreSQL server

/** Why the machine's PostgreSQL cannot be used, or undefined when it can. */
export async function pgServerUnavailable(url = PG_SERVER_URL): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query("select 1");
    return undefined;
  } catch (error) {
    return `PostgreSQL at ${url} unreachable (${(error as Error).message}); set RELIABILITY_PG_URL`;
  } finally {
    await client.end().catch(() => {});
  }
}

export async function adminQuery(url: string, statement: string, params: unknown[] = []) {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return await client.query(statement, params);
  } finally {
    await client.end();
  }
}

export type FreshDatabase = { name: string; url: string; drop: () => Promise<void> };

/** A new, empty database on the machine's PostgreSQL (or `server`); `drop()` removes it (forcefully). */
export async function createDatabase(tag: string, server = PG_SERVER_URL): Promise<FreshDatabase> {
  const name = `users_api_rel_${tag}_${randomBytes(4).toString("hex")}`;
  await adminQuery(server, `create database ${name}`);
  return {
    name,
    url: databaseUrl(server, name),
    drop: async () => {
      await adminQuery(server, `drop database if exists ${name} with (force)`);
    },
  };
}

/** `server`'s URL with another database. */
export function databaseUrl(server: string, database: string): string {
  const url = new URL(server);
  url.pathname = `/${database}`;
  return url.toString();
}

// ---------------------------------------------------------------------------------------------
// Throwaway PostgreSQL clusters (initdb in /tmp, owned by the postgres OS user when run as root)

/** The directory with initdb/pg_ctl/postgres, or undefined. PG_BIN overrides. */
export function pgBinDir(): string | undefined {
  const has = (dir: string) =>
    ["initdb", "pg_ctl", "postgres"].every((bin) => existsSync(join(dir, bin)));
  const candidates: string[] = [];
  if (process.env.PG_BIN) candidates.push(process.env.PG_BIN);
  try {
    candidates.push(execFileSync("pg_config", ["--bindir"], { encoding: "utf8" }).trim());
  } catch {
    // no pg_config on PATH
  }
  try {
    const versions = readdirSync("/usr/lib/postgresql")
      .filter((v) => /^\d+$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((v) => `/usr/lib/postgresql/${v}/bin`));
  } catch {
    // not a Debian layout
  }
  return candidates.find(has);
}

const isRoot = () => process.getuid?.() === 0;

/** The postgres OS user's ids (clusters run as it when the suite runs as root). */
export function postgresIds(): { uid: number; gid: number } | undefined {
  try {
    const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
    const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
    return { uid, gid };
  } catch {
    return undefined;
  }
}

/** Why a throwaway cluster cannot be made here, or undefined when it can. */
export function clusterUnavailable(): string | undefined {
  if (!pgBinDir()) {
    return "no PostgreSQL server binaries (initdb, pg_ctl, postgres) found; set PG_BIN";
  }
  if (isRoot() && !postgresIds()) return "running as root and there is no `postgres` OS user";
  return undefined;
}

export type Cluster = {
  dir: string;
  port: number;
  url: string;
  start: () => void;
  stop: (mode?: "fast" | "immediate") => void;
  isRunning: () => boolean;
  /** Pids of the postmaster and its children (for SIGSTOP/SIGCONT). */
  pids: () => number[];
  /** Stops the cluster if it runs and removes its directory. Never throws. */
  destroy: () => void;
};

/** Runs a PostgreSQL binary, as the postgres OS user when this is root; throws on failure. */
export function runPg(bin: string, args: string[], timeoutMs = 60_000) {
  const [command, commandArgs] = isRoot()
    ? ["runuser", ["-u", "postgres", "--", bin, ...args]]
    : [bin, args];
  const result = spawnSync(command, commandArgs as string[], {
    encoding: "utf8",
    timeout: timeoutMs,
    cwd: "/tmp",
  });
  if (result.status !== 0) {
    throw new Error(
      `${bin} ${args.join(" ")} failed (${result.status ?? result.signal}):\n${result.stdout}\n${result.stderr}`,
    );
  }
  return result;
}

/** initdb a new cluster on a free port under /tmp (not started). */
export async function createCluster(): Promise<Cluster> {
  const bin = pgBinDir();
  if (!bin) throw new Error("no PostgreSQL binaries");
  const dir = mkdtempSync(join(tmpdir(), "users-api-pg-"));
  const ids = isRoot() ? postgresIds() : undefined;
  if (ids) chownSync(dir, ids.uid, ids.gid);
  const data = join(dir, "data");
  const log = join(dir, "postgres.log");
  const port = await freePort();
  runPg(join(bin, "initdb"), [
    "-D",
    data,
    "-U",
    "postgres",
    "-A",
    "trust",
    "-E",
    "UTF8",
    "--locale=C",
    "--no-sync",
  ]);
  return clusterOn({ bin, dir, data, log, port });
}

/**
 * Start, stop and clean-up of the cluster in `data` (under `dir`), served on `port` (loopback
 * only, its socket in `dir`); `serverOptions` are more `-c name=value` for its postgres.
 */
export function clusterOn(where: {
  bin: string;
  dir: string;
  data: string;
  log: string;
  port: number;
  serverOptions?: string;
}): Cluster {
  const { bin, dir, data, log, port } = where;
  const pgCtl = join(bin, "pg_ctl");
  let running = false;
  const cluster: Cluster = {
    dir,
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    start: () => {
      runPg(pgCtl, [
        "-D",
        data,
        "-l",
        log,
        "-o",
        `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50 ${where.serverOptions ?? ""}`,
        "-w",
        "-t",
        "30",
        "start",
      ]);
      running = true;
    },
    stop: (mode = "fast") => {
      runPg(pgCtl, ["-D", data, "-m", mode, "-w", "-t", "30", "stop"]);
      running = false;
    },
    isRunning: () => running,
    pids: () => {
      const pidFile = join(data, "postmaster.pid");
      if (!existsSync(pidFile)) return [];
      const postmaster = Number(readFileSync(pidFile, "utf8").split("\n")[0]);
      const childPids = spawnSync("pgrep", ["-P", String(postmaster)], { encoding: "utf8" })
        .stdout.split("\n")
        .filter(Boolean)
        .map(Number);
      return [postmaster, ...childPids];
    },
    destroy: () => {
      // A stopped (SIGSTOP) cluster cannot shut down: continue it first.
      for (const pid of cluster.pids()) {
        try {
          process.kill(pid, "SIGCONT");
        } catch {
          // gone already
        }
      }
      if (running || existsSync(join(data, "postmaster.pid"))) {
        try {
          runPg(pgCtl, ["-D", data, "-m", "immediate", "-w", "-t", "20", "stop"], 30_000);
        } catch {
          // not running
        }
      }
      running = false;
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return cluster;
}

// ---------------------------------------------------------------------------------------------
// PgBouncer in transaction mode in front of the machine's PostgreSQL

/** Why PgBouncer cannot be started here, or undefined when it can. */
export function pgBouncerUnavailable(): string | undefined {
  const found = spawnSync("sh", ["-c", "command -v pgbouncer"], { encoding: "utf8" });
  return found.status === 0 ? undefined : "no pgbouncer binary on PATH (apt-get install pgbouncer)";
}

export type PgBouncer = {
  port: number;
  /** `database` on the upstream server, through the pooler. */
  urlFor: (database: string) => string;
  /** Stops it and removes its directory. Never throws. */
  destroy: () => Promise<void>;
};

/**
 * Starts PgBouncer on a free port in transaction mode (a server connection is lent for one
 * transaction at a time, the mode that carries no session state and no LISTEN), in front of
 * the server `upstreamUrl` (PG_SERVER_URL unless told) names. `statement_timeout`, which node-postgres sends at start-up, is
 * ignored: PgBouncer 1.18 cannot carry a session setting to the server connections it shares.
 */
export async function startPgBouncer(upstreamUrl = PG_SERVER_URL): Promise<PgBouncer> {
  const upstream = new URL(upstreamUrl);
  const user = decodeURIComponent(upstream.username) || "postgres";
  const dir = mkdtempSync(join(tmpdir(), "users-api-pgbouncer-"));
  const ids = isRoot() ? postgresIds() : undefined;
  if (ids) chownSync(dir, ids.uid, ids.gid);
  const port = await freePort();
  const ini = join(dir, "pgbouncer.ini");
  writeFileSync(join(dir, "userlist.txt"), `"${user}" ""\n`);
  writeFileSync(
    ini,
    [
      "[databases]",
      `* = host=${upstream.hostname} port=${upstream.port || 5432}`,
      "[pgbouncer]",
      "listen_addr = 127.0.0.1",
      `listen_port = ${port}`,
      "unix_socket_dir =",
      "auth_type = trust",
      `auth_file = ${join(dir, "userlist.txt")}`,
      "pool_mode = transaction",
      "max_client_conn = 500",
      "default_pool_size = 20",
      "ignore_startup_parameters = statement_timeout",
      `logfile = ${join(dir, "pgbouncer.log")}`,
      "",
    ].join("\n"),
  );
  // PgBouncer refuses to run as root.
  const [command, args] = ids
    ? ["runuser", ["-u", "postgres", "--", "pgbouncer", ini]]
    : ["pgbouncer", [ini]];
  const child = spawn(command, args as string[], { stdio: ["ignore", "pipe", "pipe"] });
  children.add(child);
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString("utf8");
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString("utf8");
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const urlFor = (database: string) => {
    const url = new URL(upstreamUrl);
    url.port = String(port);
    url.pathname = `/${database}`;
    return url.toString();
  };
  const destroy = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGINT");
      // runuser can stay behind after PgBouncer has exited (seen with a zombie PgBouncer under
      // it): it is only a wrapper then, so it is killed rather than waited for forever.
      const stuck = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(stuck);
    }
    // A wrapper killed that way leaves its PgBouncer running (seen: one per run, each holding
    // server connections): stop whatever still runs this file's config (immediate shutdown).
    spawnSync("pkill", ["-TERM", "-f", ini]);
    children.delete(child);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor("PgBouncer to accept connections", async () => {
      if (child.exitCode !== null) throw new Error(`pgbouncer exited:\n${output}`);
      await adminQuery(urlFor(upstream.pathname.slice(1) || "postgres"), "select 1");
      return true;
    });
  } catch (error) {
    await destroy();
    throw error;
  }
  return { port, urlFor, destroy };
}

// ---------------------------------------------------------------------------------------------

/** One line per figure, easy to grep in the run's output. */
export function report(name: string, figures: Record<string, number | string>): void {
  const parts = Object.entries(figures).map(
    ([key, value]) => `${key}=${typeof value === "number" ? Math.round(value * 10) / 10 : value}`,
  );
  console.log(`[reliability] ${name}: ${parts.join(" ")}`);
}

/**
 * Polls the service at `url` until it refuses the token (401): at most a second may pass, the
 * bound revocation across processes keeps.
 */
export async function expectRefusedWithinASecond(url: string, token: string): Promise<void> {
  const started = performance.now();
  for (;;) {
    const me = await api(url, "GET", "/api/users/me", { token });
    const elapsed = performance.now() - started;
    if (me.status === 401) return;
    expect(me.status, me.text).toBe(200);
    expect(elapsed, "ms until the other process refused the token").toBeLessThan(1000);
    await sleep(10);
  }
}

/**
 * Waits until every address in `emails` got a mail on `smtp`, then long enough for a duplicate
 * to arrive: each must have got exactly one (several mail workers share one outbox).
 */
export async function expectOneMailEach(
  smtp: SmtpTestServer,
  emails: string[],
  timeoutMs: number,
): Promise<void> {
  const wanted = emails.map((email) => email.toLowerCase());
  const mailsTo = (email: string) =>
    smtp.received.filter((mail) => mail.envelopeTo.some((to) => to.toLowerCase() === email));
  await waitFor("every verification mail", () => wanted.every((email) => mailsTo(email).length), {
    timeoutMs,
  });
  await sleep(1500); // a duplicate, if any, would arrive by now
  for (const email of wanted) expect(mailsTo(email), email).toHaveLength(1);
}

/**
 * The core flows across two processes of one database: a profile edit on one read on the other,
 * a refresh, a `logout-all` on one refused by the other within a second, and each mail (signups
 * on both) sent exactly once.
 */
export async function checkCoreFlows(
  a: ServerProcess,
  b: ServerProcess,
  smtp: SmtpTestServer,
  tag: string,
): Promise<void> {
  const email = uniqueEmail(`${tag}-core`);
  const user = await signupAndLogin(a.url, email);
  const profile = await api(b.url, "PATCH", "/api/users/me", {
    token: user.accessToken,
    body: { firstName: "Pooled" },
  });
  expect(profile.status, profile.text).toBe(200);
  const me = await api(a.url, "GET", "/api/users/me", { token: user.accessToken });
  expect(bodyOf(me).firstName).toBe("Pooled");
  const refreshed = await api(b.url, "POST", "/api/auth/refresh", {
    body: { refreshToken: user.refreshToken },
  });
  expect(refreshed.status, refreshed.text).toBe(200);

  // A holds the user's auth state in memory when it trusts its LISTEN; B ends every session.
  const other = await login(a.url, email);
  for (let i = 0; i < 3; i++) {
    expect((await api(a.url, "GET", "/api/users/me", { token: other.accessToken })).status).toBe(
      200,
    );
  }
  const out = await api(b.url, "POST", "/api/auth/logout-all", { token: other.accessToken });
  expect(out.status, out.text).toBe(200);
  await expectRefusedWithinASecond(a.url, other.accessToken);

  const emails = Array.from({ length: 8 }, (_, i) => uniqueEmail(`${tag}-mail-${i}`));
  await Promise.all(
    emails.map((to, i) =>
      api(i % 2 ? a.url : b.url, "POST", "/api/users/signup", {
        body: { email: to, password: PASSWORD, firstName: "M", lastName: "O" },
      }),
    ),
  );
  await expectOneMailEach(smtp, emails, 15_000);
}
