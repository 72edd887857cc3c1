import type * as Argon2 from "@node-rs/argon2";

/**
 * Counts the real argon2 verifications per stored hash, so a test can tell how many passwords
 * were actually checked against an account. Use it in a test file as
 *
 *   vi.mock("@node-rs/argon2", async (original) =>
 *     (await import("./verify-counter.ts")).countingArgon2(await original()));
 *
 * and give the account a hash of its own (`giveOwnHash` of test-app.ts), since the factories share
 * one.
 */
const checks = new Map<string, number>();

export function countingArgon2(argon2: typeof Argon2): typeof Argon2 {
  return {
    ...argon2,
    verify: (...args: Parameters<typeof argon2.verify>) => {
      const hashed = String(args[0]);
      checks.set(hashed, (checks.get(hashed) ?? 0) + 1);
      return argon2.verify(...args);
    },
  };
}

/** How many times a password was verified against this stored hash. */
export const verificationsOf = (hashed: string) => checks.get(hashed) ?? 0;
