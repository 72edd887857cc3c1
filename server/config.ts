import { z } from "zod";

const seconds = (fallback: number) => z.coerce.number().int().positive().default(fallback);

const onOff = z.enum(["on", "off"]);

const ZEnv = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default("127.0.0.1"),
  PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
  APP_URL: z.url({ protocol: /^https?$/ }).optional(),
  /** Where the landing pages send a person once their link has done its work. */
  SIGN_IN_URL: z.url({ protocol: /^https?$/ }).optional(),
  /** WebAuthn's relying-party id: APP_URL's host, or a parent domain of it (passkeys). */
  WEBAUTHN_RP_ID: z
    .string()
    .max(253)
    .regex(/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/, "must be a lower-case host name")
    .optional(),
  /** The name authenticators show beside a passkey. */
  WEBAUTHN_RP_NAME: z.string().min(1).max(64).default("Users API"),
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  /** Where LISTEN connects: a session of its own, so it may bypass a transaction-mode pooler. */
  DATABASE_LISTEN_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  /** Read replicas (comma-separated postgres:// URLs) for listings and gets; see server/replicas/. */
  DATABASE_REPLICA_URLS: z
    .string()
    .default("")
    .transform((value) =>
      value
        .split(",")
        .map((url) => url.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.url({ protocol: /^postgres(ql)?$/ })).max(16)),
  /** A replica further behind the primary than this is skipped until it catches up. */
  DATABASE_REPLICA_MAX_LAG_MS: z.coerce.number().int().min(100).max(600_000).default(2000),
  /** How often each replica's health and lag are checked (never per request). */
  DATABASE_REPLICA_CHECK_MS: z.coerce.number().int().min(50).max(60_000).default(500),
  DATA_DIR: z.string().min(1).default("./data"),
  DB_POOL_MAX: z.coerce.number().int().min(1).max(200).default(10),
  DB_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(100).default(5000),
  /** PostgreSQL only: how long a caller's auth state may be served from memory (0 = never). */
  AUTH_CACHE_SECONDS: z.coerce.number().int().min(0).max(3600).default(60),
  DB_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(100).default(3000),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /** `auto`: readable lines when stdout is a terminal, JSON lines otherwise (log shippers). */
  LOG_FORMAT: z.enum(["auto", "pretty", "json"]).default("auto"),
  JWT_ALGORITHM: z.enum(["HS256", "EdDSA", "ES256"]).default("HS256"),
  JWT_SECRET: z.string().min(32, "must be at least 32 characters").optional(),
  JWT_PREVIOUS_SECRETS: z
    .string()
    .default("")
    .transform((value) =>
      value
        .split(",")
        .map((secret) => secret.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.string().min(32, "each secret must be at least 32 characters"))),
  JWT_PRIVATE_KEY: z
    .string()
    .transform((pem) => pem.replace(/\\n/g, "\n"))
    .pipe(z.string().includes("PRIVATE KEY", { message: "must be a PKCS#8 PEM private key" }))
    .optional(),
  JWT_PREVIOUS_PUBLIC_KEYS: z
    .string()
    .default('{"keys":[]}')
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: "custom", message: 'must be a JWKS document: {"keys": [...]}' });
        return z.NEVER;
      }
    })
    .pipe(
      z.object({ keys: z.array(z.looseObject({ kty: z.string(), kid: z.string().optional() })) }),
    )
    .transform((jwks) => jwks.keys),
  JWT_ISSUER: z.string().min(1).default("users-api"),
  JWT_AUDIENCE: z.string().min(1).default("users-api"),
  ACCESS_TOKEN_TTL: seconds(900),
  REFRESH_TOKEN_TTL: seconds(30 * 24 * 3600),
  /** A refresh token spent this recently answers again with the same successor (0 = never). */
  REFRESH_REUSE_GRACE_SECONDS: z.coerce.number().int().min(0).max(60).default(10),
  PASSWORD_MIN_LENGTH: z.coerce.number().int().min(8).max(128).default(15),
  // libuv's thread pool size: on 2 cores 4 hashes at once still beat 2 (measured: npm run bench).
  HASH_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
  HASH_MAX_QUEUE: z.coerce.number().int().min(0).default(200),
  /** Deepest nesting of arrays and objects accepted in a JSON body. */
  JSON_MAX_DEPTH: z.coerce.number().int().min(2).max(1000).default(64),
  BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(64 * 1024),
  MAX_IMAGE_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(20 * 1024 * 1024)
    .default(5 * 1024 * 1024),
  IMPORT_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(4 * 1024 * 1024 * 1024)
    .default(512 * 1024 * 1024),
  PURGE_DELETED_AFTER_DAYS: z.coerce.number().int().min(1).max(3650).default(30),
  IMAGE_MAX_PIXELS: z.coerce.number().int().min(1).default(40_000_000),
  IMAGE_CONCURRENCY: z.coerce.number().int().min(1).max(8).default(2),
  IMAGE_MAX_QUEUE: z.coerce.number().int().min(0).default(32),
  SMTP_URL: z.url({ protocol: /^smtps?$/ }).optional(),
  MAIL_FROM: z.string().min(3).default("Users API <no-reply@localhost>"),
  /** How long a mail claimed by a process that died waits for another (renewed while sending). */
  MAIL_LEASE_SECONDS: z.coerce.number().int().min(3).max(300).default(20),
  /** Webhooks may reach loopback, private and link-local addresses (tests, private networks). */
  WEBHOOKS_ALLOW_PRIVATE: onOff.default("off"),
  /** An endpoint whose every delivery has failed for this long is disabled (with an audit entry). */
  WEBHOOKS_DISABLE_AFTER_HOURS: z.coerce
    .number()
    .int()
    .min(1)
    .max(24 * 365)
    .default(72),
  /** Events are kept (in the feed, for redelivery) this many days, then pruned by the worker. */
  EVENTS_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(30),
  ADMIN_EMAIL: z.email().optional(),
  ADMIN_PASSWORD: z.string().min(1).optional(),
  RATE_LIMIT: onOff.default("on"),
  REDIS_URL: z.url({ protocol: /^rediss?$/ }).optional(),
  REDIS_KEY_PREFIX: z.string().min(1).default("users-api:"),
  TRUST_PROXY: z.string().optional(),
  SIGNUP_LIMIT_PER_HOUR: z.coerce.number().int().min(1).default(20),
  LOGIN_LIMIT_PER_IP: z.coerce.number().int().min(1).default(100),
  LOGIN_LOCK_AFTER_FAILURES: z.coerce.number().int().min(2).default(10),
  LOGIN_ACCOUNT_LOCK_AFTER_FAILURES: z.coerce.number().int().min(2).default(100),
  /** How recent a sign-in (or step-up) must be for sensitive changes (STEP_UP_REQUIRED). */
  STEP_UP_SECONDS: z.coerce.number().int().min(30).max(86_400).default(300),
  /** How long the challenge between a right password and its second factor lives. */
  SECOND_FACTOR_CHALLENGE_SECONDS: z.coerce.number().int().min(30).max(1800).default(300),
  /** `on`: an Admin or AppAdmin without a second factor may only enrol one when signing in. */
  REQUIRE_SECOND_FACTOR_FOR_ADMINS: onOff.default("off"),
  PASSWORD_LIMIT_PER_ACCOUNT: z.coerce.number().int().min(1).default(10),
  RESET_LIMIT_PER_IP: z.coerce.number().int().min(1).default(10),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).default(10_000),
  MAX_EVENT_LOOP_DELAY_MS: z.coerce.number().int().min(0).default(1000),
  MAX_RSS_MB: z.coerce.number().int().min(0).default(0),
  /** `GET /metrics` (Prometheus): off unless on, and then only with METRICS_TOKEN or on METRICS_PORT. */
  METRICS: onOff.default("off"),
  /** The bearer token `/metrics` asks for (on the service's port, and on METRICS_PORT when set). */
  METRICS_TOKEN: z.string().min(32, "must be at least 32 characters").optional(),
  /** A port of its own for `/metrics` (on HOST), apart from the API's. */
  METRICS_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  /** Whether /docs keeps the bearer token in the browser's storage across reloads. */
  DOCS_PERSIST_AUTHORIZATION: onOff.default("off"),
  /** The built admin console (scripts/build-console.ts); unset: dist/console/. */
  CONSOLE_DIR: z.string().min(1).max(4096).optional(),
  CORS_ORIGINS: z
    .string()
    .default("")
    .transform((value) =>
      value
        .split(",")
        .map((origin) => origin.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.url({ protocol: /^https?$/ }))),
});

export type Env = z.infer<typeof ZEnv>;

/** Every setting's name (`.env.example` lists them all; a test keeps it so). */
export const SETTING_NAMES = Object.keys(ZEnv.shape);

export type Config = Readonly<
  Omit<Env, "PUBLIC_URL" | "APP_URL" | "SIGN_IN_URL" | "WEBAUTHN_RP_ID"> & {
    PUBLIC_URL: string;
    APP_URL: string;
    SIGN_IN_URL: string;
    WEBAUTHN_RP_ID: string;
  }
>;

/** Thrown when a setting is wrong; the message is one line naming it. */
export class ConfigError extends Error {}

let envFileRead = false;

/**
 * The process's environment, with `.env` from the working directory beneath it (once, when the
 * file exists): a real variable wins over the file. Not read under NODE_ENV=test, so a developer's
 * `.env` never leaks into the tests or the processes they spawn.
 */
export function environment(): NodeJS.ProcessEnv {
  if (!envFileRead) {
    envFileRead = true;
    if (process.env.NODE_ENV !== "test") {
      try {
        process.loadEnvFile(".env"); // Node's own parser; never overwrites a set variable
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      }
    }
  }
  return process.env;
}

/**
 * Parses the settings once. This is the only reader of `process.env` in the service, so every
 * setting is listed above and documented in the README.
 */
export function loadConfig(env: NodeJS.ProcessEnv = environment()): Config {
  const relevant = Object.fromEntries(
    Object.keys(ZEnv.shape)
      .filter((key) => env[key] !== undefined && env[key] !== "")
      .map((key) => [key, env[key]]),
  );
  const parsed = ZEnv.safeParse(relevant);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = String(issue?.path[0] ?? "settings");
    throw new ConfigError(`Invalid setting ${name}: ${issue?.message ?? "invalid value"}`);
  }
  const values = parsed.data;
  if (values.ADMIN_EMAIL && !values.ADMIN_PASSWORD) {
    throw new ConfigError("Invalid setting ADMIN_PASSWORD: required when ADMIN_EMAIL is set");
  }
  if (values.DATABASE_LISTEN_URL && !values.DATABASE_URL) {
    throw new ConfigError("Invalid setting DATABASE_LISTEN_URL: needs DATABASE_URL");
  }
  if (values.DATABASE_REPLICA_URLS.length > 0 && !values.DATABASE_URL) {
    throw new ConfigError("Invalid setting DATABASE_REPLICA_URLS: needs DATABASE_URL");
  }
  if (values.METRICS === "on" && !values.METRICS_TOKEN && !values.METRICS_PORT) {
    throw new ConfigError(
      "Invalid setting METRICS: on needs METRICS_TOKEN or METRICS_PORT (metrics are never open on the API's port)",
    );
  }
  if (values.LOGIN_ACCOUNT_LOCK_AFTER_FAILURES < values.LOGIN_LOCK_AFTER_FAILURES) {
    throw new ConfigError(
      "Invalid setting LOGIN_ACCOUNT_LOCK_AFTER_FAILURES: must be at least LOGIN_LOCK_AFTER_FAILURES",
    );
  }
  const publicUrl = stripSlash(values.PUBLIC_URL ?? `http://localhost:${values.PORT}`);
  const appUrl = stripSlash(values.APP_URL ?? publicUrl);
  const appHost = new URL(appUrl).hostname;
  const rpId = values.WEBAUTHN_RP_ID ?? appHost;
  if (appHost !== rpId && !appHost.endsWith(`.${rpId}`)) {
    throw new ConfigError(
      "Invalid setting WEBAUTHN_RP_ID: must be APP_URL's host name or a parent domain of it",
    );
  }
  return Object.freeze({
    ...values,
    PUBLIC_URL: publicUrl,
    APP_URL: appUrl,
    // Kept as written (a path may need its trailing slash); the app's root by default.
    SIGN_IN_URL: values.SIGN_IN_URL ?? appUrl,
    WEBAUTHN_RP_ID: rpId,
  });
}

const stripSlash = (url: string) => url.replace(/\/+$/, "");
