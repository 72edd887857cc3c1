import { randomBytes } from "node:crypto";

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
