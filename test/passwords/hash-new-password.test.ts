import { afterAll, describe, expect, it } from "vitest";
import { hashNewPassword, type PasswordDeps } from "../../server/accounts/accounts.ts";
import { AppError } from "../../server/errors/api-errors.ts";
import { createPasswordHasher, type PasswordHasher } from "../../server/passwords/hash.ts";
import { createPasswordPolicy } from "../../server/passwords/policy.ts";

// A new password is hashed while its strength is judged, and the policy's verdict still decides:
// the real policy (its worker included) beside a hasher that records what it was asked.

const policy = createPasswordPolicy();
const realHasher = createPasswordHasher();
const user = { email: "ada@example.com", firstName: "Ada", lastName: "Lovelace" };
const STRONG = "basalt-quiver-ozone-lattice-73";

afterAll(async () => {
  await policy.close();
});

/** A hasher whose hashes start at once and end when the test says (or with the real argon2). */
function recordingHasher(outcome: "real" | "fail") {
  const started: string[] = [];
  const hasher: PasswordHasher = {
    ...realHasher,
    hash: (normalised) => {
      started.push(normalised);
      return outcome === "real"
        ? realHasher.hash(normalised)
        : Promise.reject(new AppError("SERVICE_UNAVAILABLE", "hashing queue full"));
    },
  };
  return { hasher, started };
}

function deps(hashing: PasswordHasher): PasswordDeps {
  return { hashing, passwordPolicy: policy, config: { PASSWORD_MIN_LENGTH: 15 } };
}

async function refusal(run: Promise<unknown>): Promise<AppError> {
  const error = await run.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AppError);
  return error as AppError;
}

describe("hashNewPassword", () => {
  it("starts hashing the NFKC form before the strength verdict, and returns that hash", async () => {
    const { hasher, started } = recordingHasher("real");
    // Full-width digits: NFKC makes them ASCII, and the hash is of that form.
    const pending = hashNewPassword(deps(hasher), `${STRONG}\uFF17`, user);
    expect(started).toEqual([`${STRONG}7`]);
    const hash = await pending;
    expect(await realHasher.verify(hash, `${STRONG}7`)).toBe(true);
  });

  it("answers WEAK_PASSWORD for a password the strength check refuses, even if hashing failed", async () => {
    for (const outcome of ["real", "fail"] as const) {
      const { hasher, started } = recordingHasher(outcome);
      const error = await refusal(hashNewPassword(deps(hasher), "password1234567890", user));
      expect(error.apiCode).toBe("WEAK_PASSWORD");
      expect(started).toHaveLength(1);
    }
  });

  it("hashes nothing for a password the cheap rules refuse", async () => {
    const { hasher, started } = recordingHasher("real");
    for (const password of ["short", "x".repeat(600), `${STRONG}\uD800`]) {
      const error = await refusal(hashNewPassword(deps(hasher), password, user));
      expect(error.apiCode).toBe("WEAK_PASSWORD");
    }
    expect(started).toEqual([]);
  });

  it("passes a hashing failure on when the password is accepted", async () => {
    const { hasher } = recordingHasher("fail");
    const error = await refusal(hashNewPassword(deps(hasher), STRONG, user));
    expect(error.apiCode).toBe("SERVICE_UNAVAILABLE");
  });
});
