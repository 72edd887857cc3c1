import { randomBytes } from "node:crypto";
import { createTestApp } from "./test-app.ts";

/**
 * When the run has REDIS_URL set, settings that keep the rate-limit counters in that Redis under
 * a key prefix of this test file's own (other runs may share the server), and `drop` to delete
 * this file's keys afterwards. Without REDIS_URL the counters stay in the database.
 */
export function redisSettings(): { env: Record<string, string>; drop: () => Promise<void> } {
  const url = process.env.REDIS_URL;
  if (!url) return { env: {}, drop: async () => {} };
  const prefix = `users-api-test-${randomBytes(6).toString("hex")}:`;
  return {
    env: { REDIS_URL: url, REDIS_KEY_PREFIX: prefix },
    async drop() {
      const { Redis } = await import("ioredis");
      const redis = new Redis(url);
      try {
        for await (const keys of redis.scanStream({ match: `${prefix}*`, count: 500 })) {
          if ((keys as string[]).length > 0) await redis.del(...(keys as string[]));
        }
      } finally {
        await redis.quit();
      }
    },
  };
}

export type TestAppWithCounters = Awaited<ReturnType<typeof createTestAppWithCounters>>;

/**
 * The test app with rate limits on and their counters where the run keeps them (`store`: Redis
 * when REDIS_URL is set, else the database); `close` also deletes this file's Redis keys.
 */
export async function createTestAppWithCounters(env: Record<string, string>) {
  const redis = redisSettings();
  const t = await createTestApp({ RATE_LIMIT: "on", ...env, ...redis.env });
  return {
    ...t,
    store: redis.env.REDIS_URL ? ("redis" as const) : ("db" as const),
    close: async () => {
      await t.close();
      await redis.drop();
    },
  };
}
