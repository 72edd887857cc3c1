import { randomUUID } from "node:crypto";
import cors from "@fastify/cors";
import helmet from "@fastify/helmet";
import underPressure from "@fastify/under-pressure";
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { Config } from "./config.ts";
import { AppError } from "./errors.ts";

const REQUEST_ID = /^[\w.:-]{1,64}$/;

/** A caller's own `X-Request-Id` when it is sane, else a fresh one; echoed in every response. */
export const requestId = (req: { headers: Record<string, unknown> }): string => {
  const incoming = req.headers["x-request-id"];
  return typeof incoming === "string" && REQUEST_ID.test(incoming) ? incoming : randomUUID();
};

/**
 * Headers and limits every response gets: helmet's API-fitting defaults, CORS from an
 * allow-list, request ids, `no-store` on API JSON, 503 while draining or under pressure.
 */
export async function registerHttpHygiene(
  app: FastifyInstance,
  config: Pick<Config, "CORS_ORIGINS" | "MAX_EVENT_LOOP_DELAY_MS" | "MAX_RSS_MB">,
  isDraining: () => boolean,
): Promise<void> {
  await app.register(helmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
    },
    crossOriginResourcePolicy: { policy: "same-site" },
  });
  await app.register(cors, {
    origin: config.CORS_ORIGINS.length > 0 ? config.CORS_ORIGINS : false,
    exposedHeaders: ["x-request-id", "retry-after", "etag"],
    maxAge: 600,
  });
  await app.register(underPressure, {
    maxEventLoopDelay: config.MAX_EVENT_LOOP_DELAY_MS,
    maxRssBytes: config.MAX_RSS_MB * 1024 * 1024,
    retryAfter: 5,
    exposeStatusRoute: false,
    pressureHandler: () => {
      throw new AppError("SERVICE_UNAVAILABLE", "The server is overloaded; retry shortly", {
        retryAfter: 5,
      });
    },
  });

  app.addHook("onRequest", async (req, reply) => {
    reply.header("x-request-id", req.id);
    if (isDraining()) {
      reply.header("connection", "close");
      throw new AppError("SERVICE_UNAVAILABLE", "The server is shutting down; retry shortly", {
        retryAfter: 1,
      });
    }
  });
  // One line per request: id, user, route, status and time (Fastify's own request lines are off).
  app.decorateRequest("userId", undefined);
  app.addHook("onResponse", async (req, reply) => {
    req.log.info(
      {
        userId: req.userId,
        method: req.method,
        route: req.routeOptions.url ?? "(no route)",
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 10) / 10,
      },
      "request",
    );
  });
  app.addHook("onSend", async (req, reply) => {
    if (isApi(req) && !reply.hasHeader("cache-control")) reply.header("cache-control", "no-store");
  });
}

const isApi = (req: FastifyRequest) => req.url.startsWith("/api/") || req.url.startsWith("/trpc/");
