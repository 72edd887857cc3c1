import { createHash, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AnyRouter } from "@trpc/server";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import { unfinishedImportJobs } from "../../db/imports.ts";
import { outboxBacklog } from "../../db/mail-outbox.ts";
import type { PoolStats } from "../../db/open.ts";
import { deliveryBacklog } from "../../db/webhooks.ts";
import type { Deps } from "../context.ts";
import { AppError } from "../errors/api-errors.ts";
import { sendRestError } from "./error-reply.ts";
import { isTrpcUrl } from "./trpc-http.ts";
import { proceduresOf } from "./trpc-wire.ts";

/** Where a request came in: the REST mapping, the native tRPC door, or anything else. */
type Door = "rest" | "trpc" | "other";

/** The login, by door: its outcome is counted apart. */
const LOGIN_ROUTES = new Set(["rest POST /api/auth/token", "trpc POST /trpc/auth.token"]);

const LOGIN_OUTCOMES: Record<number, string> = {
  200: "success",
  401: "refused",
  429: "rate_limited",
  503: "busy",
};

/**
 * `GET /metrics` in Prometheus's text format, when METRICS=on: on the API's port only with
 * `Authorization: Bearer METRICS_TOKEN`, and on METRICS_PORT (started with the API's listen,
 * closed with the app) with the token too when one is set. Everything is read from what the
 * process already has (the pool, the limiters, the auth memory) or counted as answers leave.
 */
export function registerMetrics(
  app: FastifyInstance,
  deps: Deps & {
    poolStats: (() => PoolStats) | undefined;
    replicaPoolStats: () => Record<string, PoolStats>;
    queryCounts: () => Record<string, number>;
  },
  router: AnyRouter,
): void {
  const { config } = deps;
  if (config.METRICS !== "on") return;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const requests = new Histogram({
    name: "http_request_duration_seconds",
    help: "Requests by door, route, method and status, with how long each took to answer",
    labelNames: ["door", "route", "method", "status"],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const refusals = new Counter({
    name: "rate_limit_refusals_total",
    help: "Requests refused by a rate limit (429), by door and route",
    labelNames: ["door", "route"],
    registers: [registry],
  });
  const logins = new Counter({
    name: "logins_total",
    help: "Login attempts by outcome (success, refused, rate_limited, busy, error)",
    labelNames: ["outcome"],
    registers: [registry],
  });
  const gauge = (name: string, help: string, labelNames: string[], read: (g: Gauge) => unknown) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      async collect() {
        await read(this);
      },
    });
  gauge("db_pool_connections", "PostgreSQL pool connections by state", ["state"], (g) => {
    const stats = deps.poolStats?.();
    if (!stats) return;
    g.set({ state: "total" }, stats.total);
    g.set({ state: "idle" }, stats.idle);
    g.set({ state: "waiting" }, stats.waiting);
  });
  /** A queue's length and its oldest item's age: one query per scrape (the count's collect sets both). */
  const backlogGauges = (
    names: { count: string; age: string },
    help: { count: string; age: string },
    read: () => Promise<{ count: number; oldestAgeSeconds: number }>,
  ) => {
    const oldestAge = new Gauge({ name: names.age, help: help.age, registers: [registry] });
    gauge(names.count, help.count, [], async (g) => {
      const backlog = await read().catch(() => undefined);
      if (!backlog) return;
      g.set(backlog.count);
      oldestAge.set(backlog.oldestAgeSeconds);
    });
  };
  backlogGauges(
    { count: "mail_outbox_queued", age: "mail_outbox_oldest_age_seconds" },
    { count: "Mails waiting to be sent", age: "How long the oldest waiting mail has waited" },
    async () => {
      const { queued, oldestAgeSeconds } = await outboxBacklog(deps.db);
      return { count: queued, oldestAgeSeconds };
    },
  );
  backlogGauges(
    { count: "webhook_deliveries_pending", age: "webhook_deliveries_oldest_age_seconds" },
    {
      count: "Webhook deliveries not yet delivered or failed",
      age: "How long the oldest pending webhook delivery has waited",
    },
    async () => {
      const { pending, oldestAgeSeconds } = await deliveryBacklog(deps.db);
      return { count: pending, oldestAgeSeconds };
    },
  );
  gauge(
    "import_jobs",
    "Import jobs not finished, by state (receiving, queued, running), across processes",
    ["state"],
    async (g) => {
      const jobs = await unfinishedImportJobs(deps.db).catch(() => undefined);
      if (!jobs) return;
      for (const [state, count] of Object.entries(jobs)) g.set({ state }, count);
    },
  );
  for (const [queue, limiter] of [
    ["password_hashing", deps.hashing.limiter],
    ["images", deps.images.limiter],
  ] as const) {
    gauge(
      `${queue}_tasks`,
      `${queue.replace("_", " ")} tasks running and waiting`,
      ["state"],
      (g) => {
        g.set({ state: "active" }, limiter.active);
        g.set({ state: "queued" }, limiter.queued);
      },
    );
  }
  gauge(
    "auth_state_reads",
    "Auth-state reads answered from memory (hit) or the database (miss)",
    ["result"],
    (g) => {
      g.set({ result: "hit" }, deps.authStates.reads.hits);
      g.set({ result: "miss" }, deps.authStates.reads.misses);
    },
  );
  gauge(
    "auth_state_memory_trusted",
    "1 while the auth-state LISTEN connection hears its echo",
    [],
    (g) => {
      g.set(deps.authStates.trusted() ? 1 : 0);
    },
  );

  registerDatabaseRoleMetrics(deps, gauge);

  const procedures = new Set(Object.keys(proceduresOf(router)));
  app.addHook("onResponse", async (req: FastifyRequest, reply: FastifyReply) => {
    const { door, route } = routeOf(req, procedures);
    const status = reply.statusCode;
    requests.observe(
      { door, route, method: req.method, status: String(status) },
      reply.elapsedTime / 1000,
    );
    if (status === 429) refusals.inc({ door, route });
    if (LOGIN_ROUTES.has(`${door} ${req.method} ${route}`)) {
      logins.inc({ outcome: LOGIN_OUTCOMES[status] ?? "error" });
    }
  });

  const token = config.METRICS_TOKEN;
  const allowed = (authorization: string | undefined) =>
    token === undefined || sameSecret(authorization ?? "", `Bearer ${token}`);
  if (token) {
    app.get("/metrics", async (req, reply) => {
      if (!allowed(req.headers.authorization)) {
        return sendRestError(
          reply,
          new AppError("UNAUTHENTICATED", "A valid metrics token is required"),
        );
      }
      return reply.type(registry.contentType).send(await registry.metrics());
    });
  }
  if (config.METRICS_PORT) {
    const server = metricsServer(registry, allowed);
    app.addHook("onListen", async () => {
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(config.METRICS_PORT, config.HOST, resolve);
      });
    });
    app.addHook("onClose", async () => {
      if (server.listening) await new Promise((resolve) => server.close(resolve));
    });
  }
}

type GaugeMaker = (
  name: string,
  help: string,
  labelNames: string[],
  read: (g: Gauge) => unknown,
) => Gauge;

/** Queries per database (primary, replica-N), where reads were routed and why, replicas' state. */
function registerDatabaseRoleMetrics(
  deps: Deps & {
    queryCounts: () => Record<string, number>;
    replicaPoolStats: () => Record<string, PoolStats>;
  },
  gauge: GaugeMaker,
): void {
  // Counters kept by the process, exported as they stand (gauges read at scrape time).
  gauge("db_queries", "Queries made on each database since start", ["database", "role"], (g) => {
    for (const [database, count] of Object.entries(deps.queryCounts())) {
      g.set({ database, role: database === "primary" ? "primary" : "replica" }, count);
    }
  });
  if (!deps.reads.enabled) return;
  gauge(
    "db_reads_routed",
    "Authenticated reads since start by where they went and why (replica, or the primary because: channel_deaf, replicas_skipped, own_write, replica_failed)",
    ["reason"],
    (g) => {
      for (const [reason, count] of Object.entries(deps.reads.routed)) g.set({ reason }, count);
    },
  );
  gauge(
    "db_replica_lag_seconds",
    "Each replica's replay lag at its last check (+Inf when down)",
    ["replica"],
    (g) => {
      for (const replica of deps.reads.replicas()) {
        g.set({ replica: replica.name }, replica.lagMs / 1000);
      }
    },
  );
  gauge(
    "db_replica_pool_connections",
    "Each read replica's pool connections by state",
    ["replica", "state"],
    (g) => {
      for (const [replica, stats] of Object.entries(deps.replicaPoolStats())) {
        for (const state of ["total", "idle", "waiting"] as const) {
          g.set({ replica, state }, stats[state]);
        }
      }
    },
  );
  gauge("db_replica_usable", "1 while a replica serves reads", ["replica"], (g) => {
    for (const replica of deps.reads.replicas()) g.set({ replica: replica.name }, +replica.usable);
  });
  gauge(
    "db_replica_skipped_checks",
    "Health checks that skipped a replica, by reason (down, lagging, not_a_replica)",
    ["replica", "reason"],
    (g) => {
      for (const replica of deps.reads.replicas()) {
        for (const [reason, count] of Object.entries(replica.skipped)) {
          g.set({ replica: replica.name, reason }, count);
        }
      }
    },
  );
}

/** A bare HTTP server answering `GET /metrics` and nothing else (404), apart from the API. */
function metricsServer(
  registry: Registry,
  allowed: (authorization: string | undefined) => boolean,
): Server {
  return createServer((req: IncomingMessage, res) => {
    const path = (req.url ?? "").split("?")[0];
    if (req.method !== "GET" || path !== "/metrics") {
      res.writeHead(404).end();
      return;
    }
    if (!allowed(req.headers.authorization)) {
      res.writeHead(401, { "www-authenticate": "Bearer" }).end();
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { "content-type": registry.contentType }).end(text),
      () => res.writeHead(500).end(),
    );
  });
}

/**
 * A request's door and route, with a bounded set of values: the route's pattern (not its URL),
 * for tRPC the procedure's name when it is one (a batch is one label), "unmatched" otherwise.
 */
function routeOf(
  req: FastifyRequest,
  procedures: ReadonlySet<string>,
): { door: Door; route: string } {
  if (isTrpcUrl(req.url)) {
    const name = (req.url.split("?")[0] ?? "").slice("/trpc/".length);
    if (procedures.has(name)) return { door: "trpc", route: `/trpc/${name}` };
    return { door: "trpc", route: name.includes(",") ? "/trpc/(batch)" : "unmatched" };
  }
  const route = req.routeOptions.url ?? "unmatched";
  return { door: req.url.startsWith("/api/") ? "rest" : "other", route };
}

/** Compares two secrets in constant time (hashed first, so their lengths tell nothing either). */
function sameSecret(given: string, expected: string): boolean {
  const digest = (text: string) => createHash("sha256").update(text).digest();
  return timingSafeEqual(digest(given), digest(expected));
}
