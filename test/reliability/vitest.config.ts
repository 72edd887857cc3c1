import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// `npm run test:reliability`: real server processes, real PostgreSQL, one file at a time so the
// figures (drain, outage, load) are not skewed by another file's processes on the same cores.
export default defineConfig({
  test: {
    root: fileURLToPath(new URL("../..", import.meta.url)),
    include: ["test/reliability/**/*.test.ts"],
    pool: "forks",
    fileParallelism: false,
    maxWorkers: 1,
    testTimeout: 90_000,
    hookTimeout: 120_000,
    teardownTimeout: 30_000,
    reporters: ["default"],
  },
});
