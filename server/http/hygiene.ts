import { randomUUID } from "node:crypto";
import { type IncomingMessage, maxHeaderSize, type ServerResponse, STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import cors from "@fastify/cors";
import underPressure from "@fastify/under-pressure";
import type { FastifyInstance } from "fastify";
import type { Config } from "../config.ts";
import { API_ERRORS, type ApiErrorCode, AppError } from "../errors/api-errors.ts";
import { errorBody } from "./error-reply.ts";

const REQUEST_ID = /^[\w.:-]{1,64}$/;

/** A caller's own `X-Request-Id` when it is sane, else a fresh one; echoed in every response. */
export const requestId = (req: { headers: Record<string, unknown> }): string => {
  const incoming = req.headers["x-request-id"];
  return typeof incoming === "string" && REQUEST_ID.test(incoming) ? incoming : randomUUID();
};

/**
 * What every answer carries (helmet's defaults, with an API's CSP): the same for every request,
 * so they are set from one frozen object. The docs and the pages set their own CSP.
 */
const SECURITY_HEADERS = Object.freeze({
  "content-security-policy": "default-src 'none';frame-ancestors 'none'",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-site",
  "origin-agent-cluster": "?1",
  "referrer-policy": "no-referrer",
  "strict-transport-security": "max-age=31536000; includeSubDomains",
  "x-content-type-options": "nosniff",
  "x-dns-prefetch-control": "off",
  "x-download-options": "noopen",
  "x-frame-options": "SAMEORIGIN",
  "x-permitted-cross-domain-policies": "none",
  "x-xss-protection": "0",
});

/**
 * Headers and limits every response gets: security headers, CORS from an allow-list, request
 * ids, `no-store` on API answers (unless the route sets its own), 503 while draining or under
 * pressure, and one log line per request.
 */
export async function registerHttpHygiene(
  app: FastifyInstance,
  config: Pick<Config, "CORS_ORIGINS" | "MAX_EVENT_LOOP_DELAY_MS" | "MAX_RSS_MB">,
  isDraining: () => boolean,
): Promise<void> {
  // Without an allow-list no origin may read answers: no CORS headers, preflights are 405s.
  if (config.CORS_ORIGINS.length > 0) {
    await app.register(cors, {
      origin: config.CORS_ORIGINS,
      exposedHeaders: ["x-request-id", "retry-after", "etag"],
      maxAge: 600,
    });
  }
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

  app.addHook("onRequest", (req, reply, done) => {
    reply.headers(SECURITY_HEADERS);
    reply.header("x-request-id", req.id);
    if (isApi(req.url)) reply.header("cache-control", "no-store");
    if (!isDraining()) return done();
    done(
      new AppError("SERVICE_UNAVAILABLE", "The server is shutting down; retry shortly", {
        retryAfter: 1,
      }),
    );
  });
  // While draining, every answer (also to a request that started before) closes its connection:
  // a keep-alive socket would otherwise stay open, idle, until SHUTDOWN_TIMEOUT_MS cuts it, since
  // closing the listener only closes the sockets idle at that moment.
  app.addHook("onSend", (_req, reply, payload, done) => {
    if (isDraining()) reply.header("connection", "close");
    done(null, payload);
  });
  app.server.on("checkExpectation", refuseExpectation);
  // One line per request: id, user, route, status and time (Fastify's own request lines are off).
  app.decorateRequest("userId", undefined);
  app.addHook("onResponse", (req, reply, done) => {
    // Fastify builds `routeOptions` anew on each read: not for a line the level drops anyway.
    if (BELOW_INFO.has(req.log.level)) return done();
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
    done();
  });
}

/**
 * Node's HTTP parser answers what never reaches Fastify's routing (a URL or headers over
 * `maxHeaderSize`, a malformed request, a request not received in time) by itself, and Fastify's
 * default writes its own `{error, statusCode}` body: these answers get the API's error body and
 * the headers every answer has. Passed to Fastify as `clientErrorHandler`.
 */
export function clientErrorHandler(
  this: FastifyInstance,
  error: Error & { code?: string },
  socket: Socket,
): void {
  // A reset connection has nobody to answer.
  if (error.code === "ECONNRESET" || socket.destroyed) return;
  const code: ApiErrorCode =
    error.code === "HPE_HEADER_OVERFLOW"
      ? "HEADERS_TOO_LARGE"
      : error.code === "ERR_HTTP_REQUEST_TIMEOUT"
        ? "REQUEST_TIMEOUT"
        : "VALIDATION_ERROR";
  this.log.debug({ err: error, code }, "unreadable request");
  // Not in the middle of another answer on this connection (as Node itself checks).
  const answering = (socket as { _httpMessage?: ServerResponse })._httpMessage;
  if (socket.writable && !answering?.headersSent) {
    socket.write(rawAnswer(code, CLIENT_ERROR_MESSAGES[code] ?? "Malformed HTTP request"));
  }
  socket.destroy(error);
}

const CLIENT_ERROR_MESSAGES: Partial<Record<ApiErrorCode, string>> = {
  HEADERS_TOO_LARGE: `The URL and headers exceed ${Math.floor(maxHeaderSize / 1024)} KB`,
  REQUEST_TIMEOUT: "The request was not received in time",
};

/** An error answer where there is no Fastify reply to send it with; the connection then closes. */
function errorAnswer(code: ApiErrorCode, message: string) {
  const body = JSON.stringify(errorBody(new AppError(code, message)));
  const headers = {
    ...SECURITY_HEADERS,
    "cache-control": "no-store",
    "content-type": "application/json; charset=utf-8",
    "content-length": String(Buffer.byteLength(body)),
    "x-request-id": randomUUID(),
    connection: "close",
  };
  return { status: API_ERRORS[code].status, headers, body };
}

function rawAnswer(code: ApiErrorCode, message: string): string {
  const { status, headers, body } = errorAnswer(code, message);
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}`);
  return `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${lines.join("\r\n")}\r\n\r\n${body}`;
}

/**
 * An `Expect` other than `100-continue`: Node would answer 417 with an empty body. Refused in the
 * API's error body (API.md) instead (RFC 9110 allows any 4xx), and the request is not run.
 */
function refuseExpectation(_req: IncomingMessage, res: ServerResponse): void {
  const { status, headers, body } = errorAnswer(
    "VALIDATION_ERROR",
    "Only `Expect: 100-continue` is supported",
  );
  res.writeHead(status, headers).end(body);
}

/** Log levels at which the per-request `info` line is not written. */
const BELOW_INFO = new Set(["silent", "fatal", "error", "warn"]);

const isApi = (url: string) => url.startsWith("/api/") || url.startsWith("/trpc/");
