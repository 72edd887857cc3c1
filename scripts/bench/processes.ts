// Child processes of the bench: started with a bounded wait for readiness, sampled through
// /proc (memory, CPU time), and all stopped when the bench ends, fails or is interrupted.

import { type ChildProcess, fork, spawn } from "node:child_process";
import { createWriteStream, readFileSync } from "node:fs";
import { createServer } from "node:net";

const children = new Set<ChildProcess>();

/** A port free on loopback right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export type Started = { child: ChildProcess; pid: number; exited: Promise<number | null> };

/**
 * Runs a TypeScript entry with this Node and the tsx loader in-process (`node --import tsx`), so
 * the pid is the server itself and not a wrapper. Output goes to `logFile`.
 */
export function startTs(
  entry: string,
  options: { cwd: string; env: NodeJS.ProcessEnv; logFile: string; nodeArgs?: string[] },
): Started {
  return startNode(entry, {
    ...options,
    nodeArgs: [...(options.nodeArgs ?? []), "--import", "tsx"],
  });
}

/** Runs a JavaScript entry (the built service) with this Node. Output goes to `logFile`. */
export function startNode(
  entry: string,
  options: { cwd: string; env: NodeJS.ProcessEnv; logFile: string; nodeArgs?: string[] },
): Started {
  const log = createWriteStream(options.logFile);
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), entry], {
    cwd: options.cwd,
    env: options.env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  return track(child);
}

/** Forks a TypeScript module with an IPC channel (the load generator). */
export function forkTs(entry: string, args: string[], cwd: string): Started {
  const child = fork(entry, args, {
    cwd,
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  return track(child);
}

function track(child: ChildProcess): Started {
  children.add(child);
  const exited = new Promise<number | null>((resolve) => {
    child.once("exit", (code) => {
      children.delete(child);
      resolve(code);
    });
  });
  if (child.pid === undefined) throw new Error("could not start a child process");
  return { child, pid: child.pid, exited };
}

/** Polls `url` until it answers 200, the process exits, or `timeoutMs` passes. */
export async function waitReady(url: string, started: Started, timeoutMs: number): Promise<void> {
  let exited = false;
  started.exited.then(() => {
    exited = true;
  });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !exited) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(200);
  }
  throw new Error(exited ? `${url}: the process exited` : `${url}: not ready in ${timeoutMs} ms`);
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Stops one child: SIGTERM, then SIGKILL if it is still there after `graceMs`. */
export async function stop(started: Started, graceMs = 5000): Promise<void> {
  if (started.child.exitCode !== null || started.child.signalCode !== null) return;
  started.child.kill("SIGTERM");
  const timer = new Promise<"late">((resolve) => setTimeout(() => resolve("late"), graceMs));
  if ((await Promise.race([started.exited, timer])) === "late") {
    started.child.kill("SIGKILL");
    await started.exited;
  }
}

/** Last resort (process exit): kills whatever is still running, synchronously. */
export function killAll(): void {
  for (const child of children) child.kill("SIGKILL");
}

export type MemoryMb = { rss: number; hwm: number };

/** VmRSS and VmHWM (peak RSS) of a process, in MiB; undefined where /proc is not there. */
export function memory(pid: number): MemoryMb | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (field: string) =>
      Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0);
    return { rss: kb("VmRSS") / 1024, hwm: kb("VmHWM") / 1024 };
  } catch {
    return undefined;
  }
}

/** CPU seconds (user + system) a process has used so far; 0 where /proc is not there. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name, which is in parentheses and may contain spaces.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const own = (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ)
    // With its live child processes (the limit server's cluster workers).
    return own + childPids(pid).reduce((sum, child) => sum + cpuSeconds(child), 0);
  } catch {
    return 0;
  }
}

function childPids(pid: number): number[] {
  try {
    const list = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim();
    return list ? list.split(" ").map(Number) : [];
  } catch {
    return [];
  }
}

/** Busy and total CPU ticks of the whole machine so far (/proc/stat), for busy shares. */
export function machineTicks(): { busy: number; total: number } {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0] ?? "";
    const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
    const total = ticks.reduce((a, b) => a + b, 0);
    const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
    return { busy: total - idle, total };
  } catch {
    return { busy: 0, total: 0 };
  }
}
