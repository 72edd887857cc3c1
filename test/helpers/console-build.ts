import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildConsole } from "../../scripts/build-console.ts";

/**
 * The admin console built in-process into a directory of this test file's own (~0.2 s), so
 * tests need no prior `npm run build`. Pass `dir` as CONSOLE_DIR; `remove` when done.
 */
export async function buildTestConsole(): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "users-api-console-"));
  await buildConsole(dir);
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}
