import { describe, expect, it } from "vitest";
import { ZEmail } from "../../routers/shared-schema.ts";
import { type LoadData, SCENARIO_NAMES, SCENARIOS } from "../../scripts/bench/scenarios.ts";
import {
  BENCH_AUDIENCE,
  BENCH_ISSUER,
  BENCH_JWT_SECRET,
  BENCH_TOKEN_TTL,
  mintAccessToken,
} from "../../scripts/bench/tokens.ts";
import { createTokenService } from "../../server/auth/tokens.ts";
import { loadConfig } from "../../server/config.ts";

// `npm run bench` mints its callers' access tokens itself and drives both servers with the
// requests of scripts/bench/scenarios.ts; these checks keep both in step with the service.

const data: LoadData = {
  authorization: "Bearer a.b.c",
  idRange: [1, 1000],
  usernames: ["ada.lovelace.1"],
  emails: ["ada.lovelace1@example.com"],
  loginEmails: ["ada.lovelace1@example.com"],
  password: "basalt-quiver-ozone-lattice-73",
  passwordHash: "",
  firstNames: ["Ada"],
  lastNames: ["O'Brien"],
  lastNamePrefixes: ["Lov"],
  emailFragments: ["love"],
  deepLinks: ["/api/users?%24top=100&%24skiptoken=x.y"],
  refreshPrefix: "rt.abc.",
  signupTag: "abc123",
};

describe("bench", () => {
  it("mints access tokens the service accepts", async () => {
    const config = loadConfig({
      JWT_SECRET: BENCH_JWT_SECRET,
      JWT_ISSUER: BENCH_ISSUER,
      JWT_AUDIENCE: BENCH_AUDIENCE,
      // As the bench starts the service: its tokens live this long.
      ACCESS_TOKEN_TTL: String(BENCH_TOKEN_TTL),
      DATA_DIR: "memory://",
    });
    const token = await mintAccessToken(BENCH_JWT_SECRET, {
      userId: 42,
      sessionId: 7,
      tokenVersion: 3,
    });
    const service = await createTokenService(config);
    await expect(service.verifyAccessToken(token)).resolves.toEqual({
      userId: 42,
      sessionId: 7,
      tokenVersion: 3,
      authTime: expect.any(Number),
      enrolmentOnly: false,
    });
  });

  it("has the scenarios the issue names, each making well-formed requests", () => {
    expect(SCENARIO_NAMES).toEqual([
      "get-by-id-rest",
      "get-by-id-trpc",
      "get-by-id-trpc-stream",
      "get-by-name-rest",
      "list-email-eq",
      "list-lastname-startswith-count",
      "list-email-contains",
      "list-deep-nextlink",
      "patch-user",
      "login-c4",
      "login-c50",
      "signup",
      "refresh",
    ]);
    for (const scenario of SCENARIOS) {
      const request = scenario.requests(data, { seqStart: 0, seqEnd: 10 })();
      expect(request.path).toMatch(/^\/(api|trpc)\//);
      if (request.body !== undefined) expect(() => JSON.parse(request.body ?? "")).not.toThrow();
    }
  });

  it("gives every signup of a run its own valid email, and wraps rather than overrun", () => {
    const signup = SCENARIOS.find((s) => s.name === "signup");
    const next = signup?.requests(data, { seqStart: 5, seqEnd: 8 });
    const emails = Array.from({ length: 4 }, () => JSON.parse(next?.().body ?? "{}").email);
    expect(new Set(emails.slice(0, 3)).size).toBe(3);
    expect(emails[3]).toBe(emails[0]);
    for (const email of emails) expect(ZEmail.safeParse(email).success).toBe(true);
  });
});
