import type { AnyProcedure, AnyRouter } from "@trpc/server";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { createContext, type Deps } from "../context.ts";
import { API_ERRORS, AppError } from "../errors/api-errors.ts";
import { parseBoundedJson } from "./bounded-json.ts";
import { appErrorOf, failedRequest, logFailure, setErrorHeaders } from "./error-reply.ts";
import { presentPage, requestInfo } from "./rest.ts";
import { allowTrpcImageUploads } from "./trpc-upload-limit.ts";
import {
  callProcedure,
  errorEnvelope,
  jsonlBatchBody,
  type Outcome,
  type ProcedureType,
  procedureMeta,
  proceduresOf,
  procedureType,
  sseBody,
} from "./trpc-wire.ts";

/** The most calls one batch may carry (the README states it). */
export const MAX_BATCH = 16;

/**
 * Which methods reach which procedures: tRPC's table with `allowMethodOverride`, so a client's
 * `methodOverride: "POST"` works for queries; a mutation is never run by a GET.
 */
const ACCEPTS: Record<ProcedureType, readonly string[]> = {
  query: ["GET", "POST"],
  mutation: ["POST"],
  subscription: ["GET", "POST"],
};

/**
 * The native tRPC door at `/trpc`: the whole wire format a stock `@trpc/client` v11 speaks
 * (`httpLink`, `httpBatchLink`, `httpBatchStreamLink`, `httpSubscriptionLink`, with or without
 * `methodOverride`), served by a Fastify route without the Fetch-API Request that tRPC's own
 * adapter builds per call. Procedures run through the same caller as the REST door; every error
 * under `/trpc`, Fastify's own included, is answered in tRPC's shape.
 */
export async function registerTrpcDoor(
  app: FastifyInstance,
  deps: Deps,
  router: AnyRouter,
): Promise<void> {
  await app.register(
    async (scope) => {
      allowTrpcImageUploads(scope, deps, router);
      const door = trpcDoor(deps, router);
      scope.setErrorHandler(door.fail);
      scope.setNotFoundHandler((req, reply) => {
        reply.header("allow", "GET, POST");
        door.fail(
          new AppError("METHOD_NOT_ALLOWED", `${req.method} is not allowed here`),
          req,
          reply,
        );
      });
      // The procedure list is the wildcard, which Fastify's maxParamLength does not bound:
      // a batch of 16 long names is as valid as one short one.
      scope.route({ method: ["GET", "POST"], url: "/", handler: door.handle });
      scope.route({ method: ["GET", "POST"], url: "/*", handler: door.handle });
    },
    { prefix: "/trpc" },
  );
}

/** The door's request handler and error handler, bound to one router. */
function trpcDoor(deps: Deps, router: AnyRouter) {
  const procedures = proceduresOf(router);

  /** A request that fails as a whole (before or outside any call): one `{error}` body. */
  const fail = failedRequest((reply, error) => sendTrpcError(reply, router, error));

  /** A paged procedure's answer carries its REST link too (server/http/rest.ts presentPage). */
  const presented = (procedure: AnyProcedure, data: unknown) => {
    const meta = procedureMeta(procedure);
    if (!meta?.paged || !meta.openapi) return data;
    return presentPage("trpc", data, deps.config.PUBLIC_URL, meta.openapi.path);
  };

  const handle = async (req: FastifyRequest, reply: FastifyReply) => {
    // As tRPC's adapters: HEAD only says the endpoint is there (load-balancer warm-up).
    if (req.method === "HEAD") return reply.code(204).send();
    const query = req.query as Record<string, unknown>;
    const batch = query.batch === "1" || query.batch === "true";
    const joined = (req.params as { "*"?: string })["*"] ?? "";
    const paths = batch ? joined.split(",") : [joined];
    if (paths.length > MAX_BATCH) {
      throw new AppError("VALIDATION_ERROR", `At most ${MAX_BATCH} calls in one batch`);
    }
    const streamed = acceptsJsonl(req);
    if (streamed && !batch) {
      throw new AppError(
        "VALIDATION_ERROR",
        "Streaming requests must be batched (you can do a batch of 1)",
      );
    }
    const ctx = createContext(deps, requestInfo(req));
    const inputs = readInputs(req, batch, deps.config.JSON_MAX_DEPTH);
    const method = req.method;

    const calls: Call[] = paths.map((path, index) => {
      const procedure = procedures[path];
      const input = inputs.ok ? inputs.value(index) : undefined;
      return { path, procedure, type: procedure && procedureType(procedure), input };
    });

    async function run(call: Call, signal?: AbortSignal): Promise<Outcome> {
      const { path, procedure, type, input } = call;
      try {
        if (!inputs.ok) throw inputs.error;
        if (!procedure || !type) {
          throw new AppError("NOT_FOUND", `No procedure found on path "${path}"`);
        }
        if (!ACCEPTS[type].includes(method)) {
          throw new AppError(
            "METHOD_NOT_ALLOWED",
            `Unsupported ${method}-request to ${type} procedure at path "${path}"`,
          );
        }
        if (type === "subscription" && batch) {
          throw new AppError("VALIDATION_ERROR", "Cannot batch subscription calls");
        }
        const data = await callProcedure(procedure, path, ctx, input, signal);
        return { ok: true, data: presented(procedure, data) };
      } catch (cause) {
        const error = appErrorOf(cause);
        logFailure(req.log, error, cause);
        const envelope = errorEnvelope(router, error, { type: type ?? "unknown", path, input });
        return { ok: false, error, envelope };
      }
    }

    // A subscription (httpSubscriptionLink) is one unbatched call answered with server-sent events.
    const [first] = calls;
    if (!batch && first?.type === "subscription") {
      const aborted = new AbortController();
      reply.raw.once("close", () => aborted.abort());
      const lastEventId = headerOrQuery(req, "last-event-id", ["lastEventId", "Last-Event-Id"]);
      if (lastEventId !== null) first.input = withLastEventId(first.input, lastEventId);
      const outcome = await run(first, aborted.signal);
      const sse = sseBody(router, outcome, { ...first, lastEventId, signal: aborted.signal });
      return reply.code(200).headers(sse.headers).send(sse.body);
    }

    const outcomes = calls.map((call) => run(call));
    reply.header("vary", "trpc-accept, accept");

    // httpBatchStreamLink: the head goes out at once, each call's chunk when it is done; the
    // status is 200 and errors travel inside the stream, as with tRPC's adapters.
    if (streamed) {
      const { contentType, body } = jsonlBatchBody(router, outcomes);
      return reply.code(200).header("content-type", contentType).send(body);
    }

    const settled = await Promise.all(outcomes);
    const errors = settled.flatMap((outcome) => (outcome.ok ? [] : [outcome.error]));
    setErrorHeaders(reply, errors);
    if (errors.some((error) => error.apiCode === "METHOD_NOT_ALLOWED")) {
      const type = calls.find((call) => call.type)?.type;
      if (type) reply.header("allow", ACCEPTS[type].join(", "));
    }
    const bodies = settled.map((outcome) =>
      outcome.ok ? { result: { data: outcome.data } } : outcome.envelope,
    );
    const statuses = new Set(settled.map(statusOf));
    const status = statuses.size === 1 ? statusOf(settled[0] as Outcome) : 207;
    return reply.code(status).send(batch ? bodies : bodies[0]);
  };

  return { handle, fail };
}

type Call = {
  path: string;
  procedure: AnyProcedure | undefined;
  type: ProcedureType | undefined;
  input: unknown;
};

/** Whether a URL is the native door's, whose errors are in tRPC's shape. */
export const isTrpcUrl = (url: string): boolean => url === "/trpc" || /^\/trpc[/?]/.test(url);

/**
 * The native door's one writer of an error of a whole request, in tRPC's shape:
 * `{error: {message, code, data}}` (a call's error in a batch is shaped by the same errorEnvelope).
 */
export function sendTrpcError(
  reply: FastifyReply,
  router: AnyRouter,
  error: AppError,
): FastifyReply {
  setErrorHeaders(reply, [error]);
  const envelope = errorEnvelope(router, error, {
    type: "unknown",
    path: undefined,
    input: undefined,
  });
  return reply.code(API_ERRORS[error.apiCode].status).send(envelope);
}

const statusOf = (outcome: Outcome) =>
  outcome.ok ? 200 : API_ERRORS[outcome.error.apiCode].status;

/** httpBatchStreamLink asks with `trpc-accept` (or, with `streamHeader: "accept"`, `Accept`). */
function acceptsJsonl(req: FastifyRequest): boolean {
  const trpcAccept = req.headers["trpc-accept"];
  if (trpcAccept !== undefined) return trpcAccept === "application/jsonl";
  const accept = req.headers.accept;
  return accept?.split(",").some((type) => type.trim() === "application/jsonl") ?? false;
}

function headerOrQuery(req: FastifyRequest, header: string, names: string[]): string | null {
  const fromHeader = req.headers[header];
  if (typeof fromHeader === "string") return fromHeader;
  const query = req.query as Record<string, unknown>;
  const fromQuery = names.map((name) => query[name]).find((value) => typeof value === "string");
  return (fromQuery as string | undefined) ?? null;
}

/** A resumed subscription gets the id of the last event it saw in its input, as tRPC does. */
function withLastEventId(input: unknown, lastEventId: string): unknown {
  if (input !== null && typeof input === "object") return { ...input, lastEventId };
  return input ?? { lastEventId };
}

/** Unreadable inputs fail every call of the request. */
type Inputs = { ok: true; value: (index: number) => unknown } | { ok: false; error: unknown };

/**
 * Inputs come as JSON in `?input=` on a GET and in the body on a POST (mutations, and queries
 * with `methodOverride`); a batch's inputs are an object by call index.
 */
function readInputs(req: FastifyRequest, batch: boolean, maxDepth: number): Inputs {
  let raw: unknown;
  if (req.method === "GET") {
    const text = (req.query as Record<string, unknown>).input;
    if (text !== undefined && typeof text !== "string") {
      return { ok: false, error: new AppError("VALIDATION_ERROR", "Give `input` once") };
    }
    try {
      raw = text === undefined ? undefined : parseBoundedJson(text, maxDepth);
    } catch (error) {
      return { ok: false, error };
    }
  } else {
    raw = req.body;
  }
  if (!batch) return { ok: true, value: () => raw };
  const byIndex = (raw ?? {}) as Record<string, unknown>;
  if (typeof byIndex !== "object" || Array.isArray(byIndex)) {
    return {
      ok: false,
      error: new AppError("VALIDATION_ERROR", "A batch input is an object by index"),
    };
  }
  return {
    ok: true,
    value: (index) => (Object.hasOwn(byIndex, index) ? byIndex[index] : undefined),
  };
}
