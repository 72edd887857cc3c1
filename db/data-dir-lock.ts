import {
  closeSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  realpathSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { join, relative } from "node:path";

/** Another live process has the embedded database open; the message is one line naming it. */
export class DataDirInUseError extends Error {}

export type DataDirLock = {
  /** Removes the lock file (if it is still this process's); safe to call twice. */
  release: () => void;
};

/** Who holds the lock, as written in the lock file. */
type Holder = {
  pid: number;
  /** When the process started, from /proc (Linux): tells a reused pid from the holder. */
  startTime?: string | undefined;
  /** The script it runs (`dist/main.js`, `scripts/db-seed.ts`), without its arguments. */
  command?: string | undefined;
  since?: string | undefined;
};

const LOCK_FILE = "pglite.lock";
/** A takeover guard older than this was left by a process that died while taking over. */
const STALE_GUARD_MS = 10_000;
/** Paths this process holds: a second open here is refused too (PGlite is one connection). */
const heldHere = new Set<string>();

/**
 * Locks DATA_DIR for the embedded database, which only one process may open at a time (PGlite
 * is PostgreSQL in a single process: two processes writing the same files corrupt them). The
 * lock is `DATA_DIR/pglite.lock` with the holder's pid; it is created with its content in one
 * step (a hard link of a written file), so a reader never sees a half-written lock. A lock whose
 * process is gone (killed, crashed) is stale and taken over; the takeover itself is guarded, so
 * two processes finding the same stale lock cannot both win.
 *
 * @throws DataDirInUseError when a live process holds it.
 */
export function lockDataDir(dataDir: string): DataDirLock {
  mkdirSync(dataDir, { recursive: true });
  const path = join(realpathSync(dataDir), LOCK_FILE);
  if (heldHere.has(path)) {
    throw new DataDirInUseError(
      `The embedded database in ${dataDir} is already open in this process (${process.pid})`,
    );
  }
  const mine = JSON.stringify({
    pid: process.pid,
    startTime: processStartTime(process.pid),
    command: process.argv[1] ? relative(process.cwd(), process.argv[1]) : undefined,
    since: new Date().toISOString(),
  } satisfies Holder);
  for (let attempt = 0; attempt < 50; attempt++) {
    if (createWithContent(path, mine)) return held(path, mine);
    const found = readText(path);
    if (found === undefined) continue; // released meanwhile: try again
    const holder = parseHolder(found);
    if (holder && isAlive(holder)) throw new DataDirInUseError(inUseMessage(dataDir, holder));
    takeOverStale(path, found);
  }
  throw new DataDirInUseError(`Could not lock ${path}: other processes keep taking it`);
}

function held(path: string, content: string): DataDirLock {
  heldHere.add(path);
  const release = () => {
    process.off("exit", release);
    if (!heldHere.delete(path)) return;
    // Only our own lock: never one a process took over after ours was judged stale.
    if (readText(path) === content) unlinkSync(path);
  };
  // A script that calls process.exit() still leaves no lock behind (a kill -9 does: stale).
  process.on("exit", release);
  return { release };
}

/** Creates `path` holding `content` unless it exists: link(2) is atomic and never overwrites. */
function createWithContent(path: string, content: string): boolean {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, content);
  try {
    linkSync(temporary, path);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EEXIST") return false;
    if (code !== "EPERM" && code !== "ENOTSUP" && code !== "ENOSYS") throw error;
    // A file system without hard links: exclusive create, then the content.
    return createExclusively(path, content);
  } finally {
    unlinkSync(temporary);
  }
}

function createExclusively(path: string, content: string): boolean {
  try {
    writeFileSync(path, content, { flag: "wx" });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  }
}

/**
 * Removes a stale lock if it is still the one judged stale. Only the holder of the guard file
 * may do so, so a process that judged the same lock stale a moment later cannot remove the lock
 * a quicker process has created since.
 */
function takeOverStale(path: string, staleContent: string): void {
  const guard = `${path}.takeover`;
  let fd: number;
  try {
    fd = openSync(guard, "wx");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    if (ageMs(guard) > STALE_GUARD_MS) removeIfExists(guard);
    else pause(20); // another process is taking over: see what it made of it
    return;
  }
  try {
    writeSync(fd, String(process.pid));
    if (readText(path) === staleContent) removeIfExists(path);
  } finally {
    closeSync(fd);
    removeIfExists(guard);
  }
}

function isAlive(holder: Holder): boolean {
  // This process does not hold it (checked above): a previous process with our pid left it.
  if (holder.pid === process.pid) return false;
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    // EPERM: it exists but belongs to another user.
    if ((error as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  // A live process with that pid that started at another time is not the holder (pid reused,
  // e.g. after a container restart).
  const started = processStartTime(holder.pid);
  return !(holder.startTime && started && holder.startTime !== started);
}

function inUseMessage(dataDir: string, holder: Holder): string {
  const what = [holder.command, holder.since && `since ${holder.since}`].filter(Boolean).join(", ");
  return (
    `The embedded database in ${dataDir} is in use by process ${holder.pid}` +
    `${what ? ` (${what})` : ""}: only one process may open it. Stop that process first, ` +
    "or use PostgreSQL (DATABASE_URL) to run several."
  );
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks since boot); undefined off Linux. */
function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces and parentheses: count from its closing one.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

function parseHolder(text: string): Holder | undefined {
  try {
    const value = JSON.parse(text) as Holder;
    return Number.isInteger(value.pid) && value.pid > 0 ? value : undefined;
  } catch {
    return undefined; // unreadable: nobody can be told to stop, so it is taken over
  }
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

function ageMs(path: string): number {
  try {
    return Date.now() - statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

function removeIfExists(path: string): void {
  try {
    unlinkSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
}

/** A short synchronous wait: locking happens once, at start-up, before anything else runs. */
function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
