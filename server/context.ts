import type { FastifyBaseLogger } from "fastify";
import type { Kysely } from "kysely";
import type { Database } from "../db/database.ts";
import type { AuthStateCache } from "./auth/auth-state-cache.ts";
import type { TokenService } from "./auth/tokens.ts";
import type { Config } from "./config.ts";
import type { ImageProcessor } from "./images/processing.ts";
import type { RateLimitStore } from "./limits/rate-limit.ts";
import type { PasswordHasher } from "./passwords/hash.ts";
import type { PasswordPolicy } from "./passwords/policy.ts";
import type { ImportRunner } from "./porting/runner.ts";
import type { ReadRouter } from "./replicas/read-router.ts";

/**
 * What the service is built from and the procedures run with: made by buildDeps (server/deps.ts)
 * once at start-up (or per test file) and closed by closeDeps when the app closes.
 */
export type Deps = {
  db: Kysely<Database>;
  config: Config;
  tokens: TokenService;
  authStates: AuthStateCache;
  limits: RateLimitStore;
  log: FastifyBaseLogger;
  /** argon2id through one limiter (HASH_CONCURRENCY, HASH_MAX_QUEUE). */
  hashing: PasswordHasher;
  /** The password policy and its strength-checking worker thread. */
  passwordPolicy: PasswordPolicy;
  /** Decodes and re-encodes uploads through one limiter (IMAGE_CONCURRENCY, IMAGE_MAX_QUEUE). */
  images: ImageProcessor;
  /** Chooses the primary or a read replica for an authenticated caller's reads (trpc.ts). */
  reads: ReadRouter;
  /** Runs bulk imports in the background, and resumes those a dead process left. */
  imports: ImportRunner;
};

/** The parts of an HTTP request that procedures may use; the same for both doors. */
export type RequestInfo = {
  authorization: string | undefined;
  ip: string;
  userAgent: string | undefined;
  /** Told who the caller is once the token checks out (for the request log). */
  onAuthenticated?: ((userId: number) => void) | undefined;
};

export type Context = Deps & {
  request: RequestInfo;
  /**
   * Where listings and gets read: `db` (the primary) unless the procedure kit chose a replica
   * for this caller's query. Authentication, permissions' own checks and writes use `db`.
   */
  reader: Kysely<Database>;
};

/**
 * One request's context. Only the Deps are copied (not what else the process's deps carry, such
 * as the mail worker), key by key: every context has the same few properties in the same order,
 * which keeps the copies the procedure chain makes of it cheap.
 */
export function createContext(deps: Deps, request: Partial<RequestInfo> = {}): Context {
  return {
    db: deps.db,
    config: deps.config,
    tokens: deps.tokens,
    authStates: deps.authStates,
    limits: deps.limits,
    log: deps.log,
    hashing: deps.hashing,
    passwordPolicy: deps.passwordPolicy,
    images: deps.images,
    reads: deps.reads,
    imports: deps.imports,
    reader: deps.db,
    request: {
      authorization: request.authorization,
      ip: request.ip ?? "127.0.0.1",
      userAgent: request.userAgent,
      onAuthenticated: request.onAuthenticated,
    },
  };
}
