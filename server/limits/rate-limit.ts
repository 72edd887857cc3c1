import type { Kysely } from "kysely";
import type { Database } from "../../db/database.ts";
import {
  clearWindow,
  hitWindow,
  pruneWindows,
  unhitWindow,
  type WindowCount,
} from "../../db/rate-limits.ts";
import type { Config } from "../config.ts";
import { AppError } from "../errors/api-errors.ts";

/** Where the fixed-window counters live: the database (default) or Redis (REDIS_URL). */
export type RateLimitStore = {
  /** Counts one hit, atomically: concurrent callers each see a different count. */
  hit: (key: string, windowSeconds: number) => Promise<WindowCount>;
  /** Takes one hit back (never below zero), for a reserved attempt that turned out fine. */
  unhit: (key: string) => Promise<void>;
  clear: (key: string) => Promise<void>;
  close: () => Promise<void>;
};

export function databaseStore(db: Kysely<Database>): RateLimitStore {
  let hits = 0;
  return {
    async hit(key, windowSeconds) {
      // Now and then, drop old windows so the table stays small.
      if (++hits % 1000 === 0) await pruneWindows(db);
      return hitWindow(db, key, windowSeconds);
    },
    unhit: async (key) => {
      await unhitWindow(db, key);
    },
    clear: async (key) => {
      await clearWindow(db, key);
    },
    close: async () => {},
  };
}

// Decrements only a live counter above zero: DECR alone would create a key without expiry.
const UNHIT_SCRIPT = `if (tonumber(redis.call("get", KEYS[1]) or "0") > 0) then
  return redis.call("decr", KEYS[1])
end
return 0`;

/** Keys are `<REDIS_KEY_PREFIX>rl:<name>`, so deployments (or test runs) can share a server. */
export function redisStore(url: string, prefix: string): RateLimitStore {
  // ioredis is loaded only by deployments that use it (it costs resident memory otherwise).
  const connecting = import("ioredis").then(
    ({ Redis }) => new Redis(url, { maxRetriesPerRequest: 2, lazyConnect: false }),
  );
  const name = (key: string) => `${prefix}rl:${key}`;
  return {
    async hit(key, windowSeconds) {
      const redis = await connecting;
      const results = await redis
        .multi()
        .incr(name(key))
        .pexpire(name(key), windowSeconds * 1000, "NX")
        .pttl(name(key))
        .exec();
      const count = Number(results?.[0]?.[1] ?? 1);
      const ttl = Number(results?.[2]?.[1] ?? windowSeconds * 1000);
      return { count, resetInSeconds: Math.max(ttl, 0) / 1000 };
    },
    unhit: async (key) => {
      await (await connecting).eval(UNHIT_SCRIPT, 1, name(key));
    },
    clear: async (key) => {
      await (await connecting).del(name(key));
    },
    close: async () => {
      await (await connecting).quit();
    },
  };
}

export const createRateLimitStore = (
  db: Kysely<Database>,
  config: Pick<Config, "REDIS_URL" | "REDIS_KEY_PREFIX">,
): RateLimitStore =>
  config.REDIS_URL ? redisStore(config.REDIS_URL, config.REDIS_KEY_PREFIX) : databaseStore(db);

export type RateRule = { name: string; limit: number; windowSeconds: number };

/** The limits, from the settings. */
export const rateRules = (config: Config) => ({
  signupPerIp: { name: "signup-ip", limit: config.SIGNUP_LIMIT_PER_HOUR, windowSeconds: 3600 },
  loginPerIp: { name: "login-ip", limit: config.LOGIN_LIMIT_PER_IP, windowSeconds: 900 },
  passwordPerAccount: {
    name: "password-account",
    limit: config.PASSWORD_LIMIT_PER_ACCOUNT,
    windowSeconds: 900,
  },
  resetPerIp: { name: "reset-ip", limit: config.RESET_LIMIT_PER_IP, windowSeconds: 3600 },
  resetPerRecipient: { name: "reset-recipient", limit: 3, windowSeconds: 3600 },
  // A person opens a link a few times; this leaves a shared office address room for dozens of
  // people while a guesser gets 60 tries per quarter hour at a 256-bit token.
  linkStatePerIp: { name: "link-state-ip", limit: 60, windowSeconds: 900 },
});

type RateDeps = { limits: RateLimitStore; config: Pick<Config, "RATE_LIMIT"> };

/** Counts a hit; returns the seconds until the window resets when the hit is over the limit. */
async function overLimit(deps: RateDeps, rule: RateRule, subject: string) {
  if (deps.config.RATE_LIMIT === "off") return undefined;
  const { count, resetInSeconds } = await deps.limits.hit(
    `${rule.name}:${subject}`,
    rule.windowSeconds,
  );
  return count > rule.limit ? Math.max(1, Math.ceil(resetInSeconds)) : undefined;
}

/** Counts a hit and refuses it with 429 RATE_LIMITED (with Retry-After) beyond the limit. */
export async function enforceRate(deps: RateDeps, rule: RateRule, subject: string): Promise<void> {
  const retryAfter = await overLimit(deps, rule, subject);
  if (retryAfter !== undefined) {
    throw new AppError("RATE_LIMITED", "Too many requests; retry later", { retryAfter });
  }
}

/** Counts a hit and answers whether it is within the limit (for limits that must stay silent). */
export const withinRate = async (deps: RateDeps, rule: RateRule, subject: string) =>
  (await overLimit(deps, rule, subject)) === undefined;
