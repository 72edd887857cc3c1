import { randomBytes } from "node:crypto";
import type { Algorithm, Options, Version } from "@node-rs/argon2";
import { hash, parseOptions, verify } from "@node-rs/argon2";
import { createLimiter, type Limiter, type LimiterOptions } from "../limits/limiter.ts";
import { parseForeignHash, verifyForeignHash } from "./foreign-hashes.ts";

// argon2id, run on libuv's thread pool by @node-rs/argon2, never on the main thread. Each hash or
// verify holds ~19 MiB for ~20–40 ms, so a limiter bounds how many run at once (memory, and the
// thread pool that DNS and fs also use) and sheds load with a 503 when too many wait.

// The package's enums are `const enum`s, which isolated modules cannot read: their values here.
const ARGON2ID = 2 satisfies Algorithm.Argon2id;
const VERSION_0X13 = 1 satisfies Version.V0x13;

/** OWASP's argon2id minimum: 19 MiB, 2 passes, 1 lane (and a 16-byte salt, a 32-byte hash). */
export const ARGON2_OPTIONS = {
  algorithm: ARGON2ID,
  version: VERSION_0X13,
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
  outputLen: 32,
} as const satisfies Options;
const MIN_SALT_BYTES = 16;

/**
 * Stored hashes with costs beyond these are not ours and would tie up a thread (or memory) for
 * far too long: they are treated as malformed.
 */
const SANE_LIMITS = { memoryCost: 1_048_576, timeCost: 32, parallelism: 16 };

const HASHING_DEFAULTS: LimiterOptions = { concurrency: 4, maxQueue: 200 };

/** Hashing and verifying through one limiter: one per service, made by buildDeps. */
export type PasswordHasher = {
  /** The limiter every hash and verify waits in (its queue is a metric). */
  readonly limiter: Limiter;
  /** The argon2id PHC string of an NFKC-normalised password (see PasswordPolicy.check). */
  hash(normalised: string): Promise<string>;
  /**
   * True when `normalised` matches the stored hash; false for a wrong password and for a
   * missing, malformed or foreign hash (never throws for those; only the limiter's 503 can).
   */
  verify(encoded: string | null | undefined, normalised: string): Promise<boolean>;
  /**
   * Costs what verify costs (same parameters, same limiter) and always resolves false: call it
   * for unknown, suspended or password-less users so login timing does not tell them apart.
   */
  verifyAgainstDummy(normalised: string): Promise<boolean>;
};

/**
 * A hasher running at most `concurrency` hashes/verifies at once with at most `maxQueue` waiting
 * (beyond that: 503). It prepares the dummy hash at once, so the first unknown-user login does
 * not pay for it too.
 */
export function createPasswordHasher(options: Partial<LimiterOptions> = {}): PasswordHasher {
  const limiter = createLimiter({ ...HASHING_DEFAULTS, ...options });
  dummyHash().catch(() => {});

  async function verifyEncoded(encoded: string, password: string): Promise<boolean> {
    const parsed = parseHash(encoded);
    if (!parsed) {
      // Imported from elsewhere (bcrypt, scrypt, PBKDF2), cost-bounded by its parser.
      const foreign = parseForeignHash(encoded);
      return foreign ? limiter.run(() => verifyForeignHash(foreign, password)) : false;
    }
    if (!isSaneArgon2(parsed)) return false;
    return limiter.run(async () => {
      try {
        return await verify(encoded, password);
      } catch {
        return false;
      }
    });
  }

  async function verifyAgainstDummy(normalised: string): Promise<boolean> {
    await verifyEncoded(await dummyHash(), normalised);
    return false;
  }

  return {
    limiter,
    hash: (normalised) => limiter.run(() => hash(normalised, ARGON2_OPTIONS)),
    verify: (encoded, normalised) =>
      typeof encoded === "string"
        ? verifyEncoded(encoded, normalised)
        : verifyAgainstDummy(normalised),
    verifyAgainstDummy,
  };
}

type ParsedHash = ReturnType<typeof parseOptions>;

const ARGON2I = 1 satisfies Algorithm.Argon2i;

const isSaneArgon2 = (parsed: ParsedHash) =>
  (parsed.algorithm === ARGON2ID || parsed.algorithm === ARGON2I) &&
  parsed.memoryCost <= SANE_LIMITS.memoryCost &&
  parsed.timeCost <= SANE_LIMITS.timeCost &&
  parsed.parallelism <= SANE_LIMITS.parallelism;

/**
 * True when a stored hash is one `verify` can check: argon2id or argon2i PHC within the cost
 * limits, or a bcrypt, scrypt or PBKDF2-SHA256 hash within theirs (foreign-hashes.ts). Imports
 * refuse any other.
 */
export function isVerifiableHash(encoded: string): boolean {
  const parsed = parseHash(encoded);
  return parsed ? isSaneArgon2(parsed) : parseForeignHash(encoded) !== undefined;
}

function parseHash(encoded: string): ParsedHash | undefined {
  try {
    return parseOptions(encoded);
  } catch {
    return undefined;
  }
}

/** True when a stored hash is weaker than ARGON2_OPTIONS (or unreadable): rehash after login. */
export function needsRehash(encoded: string): boolean {
  const parsed = parseHash(encoded);
  if (!parsed) return true;
  return (
    parsed.algorithm !== ARGON2_OPTIONS.algorithm ||
    parsed.version !== ARGON2_OPTIONS.version ||
    parsed.memoryCost < ARGON2_OPTIONS.memoryCost ||
    parsed.timeCost < ARGON2_OPTIONS.timeCost ||
    parsed.outputLen < ARGON2_OPTIONS.outputLen ||
    parsed.saltLen < MIN_SALT_BYTES
  );
}

// A module-level memo, deliberately: a hash of a random secret with fixed parameters is a
// constant that holds nothing to close, and every hasher may share it (a test process builds
// many services; each would otherwise pay ~30 ms for an equivalent one).
let dummy: Promise<string> | undefined;

/** A hash of a random secret with our parameters, made once (a failure is retried next time). */
function dummyHash(): Promise<string> {
  dummy ??= hash(randomBytes(32), ARGON2_OPTIONS).catch((error: unknown) => {
    dummy = undefined;
    throw error;
  });
  return dummy;
}
