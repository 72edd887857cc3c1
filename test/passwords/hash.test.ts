import { hash, parseOptions } from "@node-rs/argon2";
import { describe, expect, it, vi } from "vitest";
import { ARGON2_OPTIONS, createPasswordHasher, needsRehash } from "../../server/passwords/hash.ts";

const PASSWORD = "correct horse battery staple";

// Counts the argon2 computations really in flight, whoever starts them.
const inFlight = vi.hoisted(() => ({ now: 0, max: 0 }));
vi.mock("@node-rs/argon2", async (importOriginal) => {
  const argon2 = await importOriginal<typeof import("@node-rs/argon2")>();
  const counted =
    <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      inFlight.now++;
      inFlight.max = Math.max(inFlight.max, inFlight.now);
      try {
        return await fn(...args);
      } finally {
        inFlight.now--;
      }
    };
  return { ...argon2, hash: counted(argon2.hash), verify: counted(argon2.verify) };
});

/** A hasher with the defaults; the limiter tests make their own. */
const hasher = createPasswordHasher();

describe("hash / verify", () => {
  it("round-trips, with argon2id at OWASP's parameters", async () => {
    const encoded = await hasher.hash(PASSWORD);
    expect(encoded).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(parseOptions(encoded)).toMatchObject({ memoryCost: 19456, timeCost: 2, parallelism: 1 });
    await expect(hasher.verify(encoded, PASSWORD)).resolves.toBe(true);
  });

  it("salts: the same password hashes differently each time", async () => {
    const [a, b] = await Promise.all([hasher.hash(PASSWORD), hasher.hash(PASSWORD)]);
    expect(a).not.toBe(b);
  });

  it("is false for a wrong password", async () => {
    const encoded = await hasher.hash(PASSWORD);
    await expect(hasher.verify(encoded, "correct horse battery stapler")).resolves.toBe(false);
    await expect(hasher.verify(encoded, PASSWORD.toUpperCase())).resolves.toBe(false);
  });

  it.each([
    ["empty", ""],
    ["garbage", "not a hash"],
    ["truncated", "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ"],
    ["bcrypt", "$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"],
    [
      "absurd cost",
      "$argon2id$v=19$m=4294967295,t=4294967295,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNo",
    ],
  ])("is false, never a throw, for a malformed hash (%s)", async (_name, encoded) => {
    await expect(hasher.verify(encoded, PASSWORD)).resolves.toBe(false);
  });

  it("is false for a missing hash, at the cost of a verify", async () => {
    await expect(hasher.verify(null, PASSWORD)).resolves.toBe(false);
  });
});

describe("needsRehash", () => {
  it("is true for a hash with weaker parameters (m=4096, t=1)", async () => {
    const weak = await hash(PASSWORD, { ...ARGON2_OPTIONS, memoryCost: 4096, timeCost: 1 });
    expect(needsRehash(weak)).toBe(true);
    await expect(hasher.verify(weak, PASSWORD)).resolves.toBe(true); // still verifiable
  });

  it("is true for argon2i, too short a salt, and unreadable strings", async () => {
    expect(needsRehash(await hash(PASSWORD, { ...ARGON2_OPTIONS, algorithm: 1 }))).toBe(true);
    const shortSalt = new Uint8Array(8).fill(7);
    expect(needsRehash(await hash(PASSWORD, { ...ARGON2_OPTIONS, salt: shortSalt }))).toBe(true);
    expect(needsRehash("not a hash")).toBe(true);
  });

  it("is false for our own hashes", async () => {
    expect(needsRehash(await hasher.hash(PASSWORD))).toBe(false);
  });
});

describe("verifyAgainstDummy", () => {
  it("is always false and costs about what a real verify costs", async () => {
    const encoded = await hasher.hash(PASSWORD);
    await hasher.verifyAgainstDummy(PASSWORD); // the dummy hash is made once, up front
    const time = async (fn: () => Promise<unknown>) => {
      const started = performance.now();
      await fn();
      return performance.now() - started;
    };
    const real: number[] = [];
    const dummy: number[] = [];
    for (let i = 0; i < 9; i++) {
      real.push(await time(() => hasher.verify(encoded, "wrong password entirely")));
      dummy.push(await time(() => hasher.verifyAgainstDummy(PASSWORD)));
    }
    await expect(hasher.verifyAgainstDummy(PASSWORD)).resolves.toBe(false);
    // The fastest of several runs is the least disturbed by a busy machine. Same parameters, same
    // work: well within a factor of three (a shortcut, such as failing fast on a missing hash,
    // would be ~100× faster).
    const fastestReal = Math.min(...real);
    expect(Math.min(...dummy)).toBeGreaterThan(fastestReal / 3);
    expect(Math.min(...dummy)).toBeLessThan(fastestReal * 3);
  });
});

describe("the hashing limiter", () => {
  it("never runs more than `concurrency` hashes and verifies at once", async () => {
    const encoded = await hasher.hash(PASSWORD);
    const limited = createPasswordHasher({ concurrency: 2, maxQueue: 100 });
    // The dummy hash every hasher prepares is made before counting starts.
    await limited.verifyAgainstDummy(PASSWORD);
    inFlight.max = 0;
    const work = Array.from({ length: 8 }, (_, i) =>
      i % 2 === 0 ? limited.hash(PASSWORD) : limited.verify(encoded, PASSWORD),
    );
    await Promise.all(work);
    expect(inFlight.max).toBe(2);
  });

  it("refuses beyond maxQueue with SERVICE_UNAVAILABLE, for hashes and verifies alike", async () => {
    const encoded = await hasher.hash(PASSWORD);
    const limited = createPasswordHasher({ concurrency: 2, maxQueue: 3 });
    const accepted = Array.from({ length: 5 }, () => limited.hash(PASSWORD));
    const busy = {
      apiCode: "SERVICE_UNAVAILABLE",
      message: "Server busy, retry shortly",
      retryAfter: 1,
    };
    await expect(limited.hash(PASSWORD)).rejects.toMatchObject(busy);
    await expect(limited.verify(encoded, PASSWORD)).rejects.toMatchObject(busy);
    await expect(Promise.all(accepted)).resolves.toHaveLength(5);
    await expect(limited.verify(encoded, PASSWORD)).resolves.toBe(true);
  });
});
