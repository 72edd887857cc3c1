import type { FastifyBaseLogger } from "fastify";
import type { Kysely } from "kysely";
import { pino } from "pino";
import type { Database } from "../db/database.ts";
import { type DatabaseHandle, openDatabase, type PoolStats } from "../db/open.ts";
import { counted, QueryCounterPlugin } from "../db/query-counter.ts";
import { type Purger, startPurging } from "./accounts/purge.ts";
import { createAuthStateCache } from "./auth/auth-state-cache.ts";
import { createTokenService } from "./auth/tokens.ts";
import type { Config } from "./config.ts";
import type { Deps } from "./context.ts";
import { createImageProcessor, imageSettingsFrom } from "./images/processing.ts";
import { createRateLimitStore } from "./limits/rate-limit.ts";
import type { loggerOptions } from "./log-format.ts";
import { createMailTransport, type MailTransport } from "./mail/transport.ts";
import { createMailWorker, type MailWorker } from "./mail/worker.ts";
import { createPasswordHasher } from "./passwords/hash.ts";
import { createPasswordPolicy } from "./passwords/policy.ts";
import { createImportRunner } from "./porting/import-runner.ts";
import { createReadRouter } from "./replicas/read-router.ts";
import { webhookPolicy } from "./webhooks/policy.ts";
import { createWebhookWorker, type WebhookWorker } from "./webhooks/worker.ts";

/** Deps, and what only the process handles: mail delivery and closing the database. */
export type ProcessDeps = Deps & {
  /** The server's mail delivery (absent where nothing sends mail: tests, scripts). */
  mail: { transport: MailTransport; worker: MailWorker } | undefined;
  /** The server's webhook delivery and event pruning (absent in tests and scripts). */
  webhooks: WebhookWorker | undefined;
  /** The PostgreSQL pool's connections, when these deps opened one (a metric). */
  poolStats: (() => PoolStats) | undefined;
  /** Each read replica's pool connections now, by its name (a metric). */
  replicaPoolStats: () => Record<string, PoolStats>;
  /** Queries made so far on each database: `primary`, `replica-1`, … (a metric). */
  queryCounts: () => Record<string, number>;
  /** Purges users soft-deleted more than PURGE_DELETED_AFTER_DAYS ago, in the background. */
  purge: Purger;
  /** Closes the database if these deps opened it (closeDeps calls it last). */
  closeDatabase: () => Promise<void>;
};

export type DepsOptions = {
  /**
   * The database, opened by the caller; closed with the rest. Without it (and without `db`) the
   * one the config names is opened.
   */
  database?: DatabaseHandle;
  /** A database someone else opened and closes (a second service on a test's database). */
  db?: Kysely<Database>;
  /** pino's options (see loggerOptions); without them nothing is logged. */
  logger?: Awaited<ReturnType<typeof loggerOptions>>;
  /** Builds the mail transport and worker (the server); the worker is started by its caller. */
  mail?: boolean;
  /** Builds the webhook worker (the server); started by its caller, like the mail worker. */
  webhooks?: boolean;
};

/**
 * Builds every process-wide resource of one service, once: main.ts, the scripts and the tests
 * all start here, and `closeDeps` closes what this opened (buildApp calls it in onClose).
 */
export async function buildDeps(config: Config, options: DepsOptions = {}): Promise<ProcessDeps> {
  const log: FastifyBaseLogger = options.logger
    ? pinoLogger(options.logger)
    : pino({ level: "silent" });
  const database = options.db
    ? { db: options.db, close: async () => {} }
    : (options.database ?? (await openConfiguredDatabase(config)));
  // Every query on the primary is counted; `db` shares the handle's connections and events.
  const primaryCounter = new QueryCounterPlugin();
  const db = counted(database.db, primaryCounter);
  const replicas = await openReplicas(config);
  const mailLog = log.child({ component: "mail" });
  const transport = options.mail ? createMailTransport(config, mailLog) : undefined;
  // LISTEN needs a session of its own, so it may bypass a transaction-mode pooler.
  const listenUrl = config.DATABASE_URL && (config.DATABASE_LISTEN_URL ?? config.DATABASE_URL);
  return {
    db,
    config,
    log,
    tokens: await createTokenService(config),
    authStates: createAuthStateCache({
      db,
      listenUrl,
      ttlSeconds: config.AUTH_CACHE_SECONDS,
      log,
    }),
    limits: createRateLimitStore(db, config),
    hashing: createPasswordHasher({
      concurrency: config.HASH_CONCURRENCY,
      maxQueue: config.HASH_MAX_QUEUE,
    }),
    passwordPolicy: createPasswordPolicy(),
    images: createImageProcessor(imageSettingsFrom(config)),
    reads: createReadRouter({
      primary: db,
      replicas: replicas.map(({ name, db, health }) => ({ name, db, health })),
      listenUrl,
      maxLagMs: config.DATABASE_REPLICA_MAX_LAG_MS,
      checkEveryMs: config.DATABASE_REPLICA_CHECK_MS,
      log: log.child({ component: "replicas" }),
    }),
    imports: createImportRunner({ db, config, log: log.child({ component: "import" }) }),
    mail: transport && {
      transport,
      worker: createMailWorker({
        db,
        config,
        transport,
        log: mailLog,
        kind: config.DATABASE_URL ? "postgres" : "pglite",
        listenUrl,
        leaseSeconds: config.MAIL_LEASE_SECONDS,
      }),
    },
    purge: startPurging({ db, afterDays: config.PURGE_DELETED_AFTER_DAYS, log }),
    webhooks: options.webhooks
      ? createWebhookWorker({
          db,
          log: log.child({ component: "webhooks" }),
          kind: config.DATABASE_URL ? "postgres" : "pglite",
          listenUrl,
          policy: webhookPolicy(config),
          retentionDays: config.EVENTS_RETENTION_DAYS,
          disableAfterSeconds: config.WEBHOOKS_DISABLE_AFTER_HOURS * 3600,
        })
      : undefined,
    poolStats: "poolStats" in database ? database.poolStats : undefined,
    replicaPoolStats: () =>
      Object.fromEntries(
        replicas.flatMap(({ name, poolStats }) => (poolStats ? [[name, poolStats()]] : [])),
      ),
    queryCounts: () => ({
      primary: primaryCounter.count,
      ...Object.fromEntries(replicas.map(({ name, counter }) => [name, counter.count])),
    }),
    closeDatabase: async () => {
      await Promise.all(replicas.map((replica) => replica.close()));
      await database.close();
    },
  };
}

/**
 * Closes what buildDeps opened, in the order shutdown needs: the mail worker finishes the mail
 * it is sending and marks it, then the transport, the caches and counters, the password worker,
 * and the database last, since everything before may still use it.
 */
export async function closeDeps(deps: ProcessDeps): Promise<void> {
  await deps.mail?.worker.stop();
  await deps.webhooks?.stop();
  deps.mail?.transport.close();
  await deps.imports.close();
  await deps.purge.stop();
  await deps.limits.close();
  await deps.authStates.close();
  await deps.reads.close();
  await deps.passwordPolicy.close();
  await deps.closeDatabase();
}

function openConfiguredDatabase(config: Config): Promise<DatabaseHandle> {
  return openDatabase({
    databaseUrl: config.DATABASE_URL,
    dataDir: config.DATA_DIR,
    poolMax: config.DB_POOL_MAX,
    statementTimeoutMs: config.DB_STATEMENT_TIMEOUT_MS,
    connectTimeoutMs: config.DB_CONNECT_TIMEOUT_MS,
  });
}

/** A pool per DATABASE_REPLICA_URLS entry, named `replica-1`, … and counting its queries. */
async function openReplicas(config: Config) {
  return Promise.all(
    config.DATABASE_REPLICA_URLS.map(async (url, index) => {
      const handle = await openDatabase({
        databaseUrl: url,
        dataDir: config.DATA_DIR,
        poolMax: config.DB_POOL_MAX,
        statementTimeoutMs: config.DB_STATEMENT_TIMEOUT_MS,
        connectTimeoutMs: config.DB_CONNECT_TIMEOUT_MS,
      });
      const counter = new QueryCounterPlugin();
      return {
        name: `replica-${index + 1}`,
        db: counted(handle.db, counter),
        health: handle.db,
        poolStats: handle.poolStats,
        counter,
        close: handle.close,
      };
    }),
  );
}

/** pino takes its destination beside its options, where Fastify's logger option has `stream`. */
function pinoLogger(options: NonNullable<DepsOptions["logger"]>): FastifyBaseLogger {
  const { stream, ...rest } = options;
  return stream ? pino(rest, stream) : pino(rest);
}
