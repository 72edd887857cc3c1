import { type ChildProcessByStdio, spawn } from "node:child_process";
import type { Readable, Writable } from "node:stream";
import { fileURLToPath, pathToFileURL } from "node:url";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
/** tsx's loader by path, so a child whose working directory is elsewhere still runs TypeScript. */
export const TSX = pathToFileURL(`${ROOT}node_modules/tsx/dist/loader.mjs`).href;

/** The environment without any setting of this project's (none leaks in from the test run). */
export function cleanEnv(names: readonly string[]): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of names) delete env[name];
  delete env.NODE_ENV;
  delete env.VITEST;
  return env;
}

export type NodeRun = { status: number | null; stdout: string; stderr: string };

/**
 * Starts `node --import tsx <args>` (not the tsx CLI, a wrapper whose second process a signal
 * would miss). `input` is written to its stdin, which is then closed. Without `env` it inherits
 * the test run's.
 */
export function spawnNode(
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; input?: string },
): ChildProcessByStdio<Writable, Readable, Readable> {
  const child = spawn(process.execPath, ["--import", TSX, ...args], {
    cwd: options.cwd,
    env: options.env,
    stdio: ["pipe", "pipe", "pipe"],
  });
  child.stdin.end(options.input ?? "");
  return child;
}

/** Waits for the child's end ("close", not "exit": all it printed has been read by then). */
export function outputOf(
  child: ChildProcessByStdio<Writable, Readable, Readable>,
): Promise<NodeRun> {
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk;
  });
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk;
  });
  return new Promise((resolve) =>
    child.once("close", (status) => resolve({ status, stdout, stderr })),
  );
}

/** Runs `node --import tsx <args>` to its end and collects what it printed. */
export const runNode = (args: string[], options: Parameters<typeof spawnNode>[1]) =>
  outputOf(spawnNode(args, options));
