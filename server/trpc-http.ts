import type { AnyProcedure, AnyRouter } from "@trpc/server";
import {
  getErrorShape,
  getHTTPStatusCodeFromError,
  getTRPCErrorFromUnknown,
} from "@trpc/server/unstable-core-do-not-import";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { createContext, type Deps } from "./context.ts";
import { AppError, logFailure, toAppError } from "./errors.ts";
import { requestInfo } from "./rest.ts";
import { callProcedure } from "./trpc.ts";

type Outcome = { status: number; body: unknown; retryAfter?: number | undefined };

const MAX_BATCH = 16;

/**
 * The native tRPC door, served by a Fastify route: the wire format that `@trpc/client`'s
 * `httpLink` and `httpBatchLink` speak (`GET /trpc/a.b?input=…` for queries, `POST` for
 * mutations, `?batch=1` with comma-separated paths), without the Fetch-API Request that tRPC's
 * own adapter builds per call. Procedures run through the same caller as the REST door.
 */
export function registerTrpcRoutes(app: FastifyInstance, deps: Deps, router: AnyRouter): void {
  const procedures = router._def.procedures as Record<string, AnyProcedure>;
  const config = router._def._config;

  app.route({
    method: ["GET", "POST"],
    url: "/trpc/:path",
    handler: async (req, reply) => {
      const { path: joined } = req.params as { path: string };
      const query = req.query as Record<string, unknown>;
      const batch = query.batch === "1" || query.batch === "true";
      const paths = batch ? joined.split(",") : [joined];
      if (paths.length > MAX_BATCH) {
        throw new AppError("VALIDATION_ERROR", `At most ${MAX_BATCH} calls in one batch`);
      }
      const ctx = createContext(deps, requestInfo(req));
      const inputs = readInputs(req, batch);
      const type = req.method === "GET" ? "query" : "mutation";

      const outcomes = await Promise.all(
        paths.map(async (path, index): Promise<Outcome> => {
          const input = inputs.ok ? inputs.value(index) : undefined;
          try {
            if (!inputs.ok) throw inputs.error;
            const procedure = procedures[path];
            if (!procedure) throw new AppError("NOT_FOUND", `No procedure ${path}`);
            if (procedure._def.type !== type) {
              throw new AppError("METHOD_NOT_ALLOWED", `${path} is a ${procedure._def.type}`);
            }
            const data = await callProcedure(procedure, path, ctx, input);
            return { status: 200, body: { result: { data } } };
          } catch (cause) {
            const appError = toAppError(cause);
            const error = getTRPCErrorFromUnknown(appError);
            logFailure(req.log, appError, cause);
            const shape = getErrorShape({ config, error, type, path, input, ctx });
            return {
              status: getHTTPStatusCodeFromError(error),
              body: { error: shape },
              retryAfter: appError.retryAfter,
            };
          }
        }),
      );

      if (outcomes.some((outcome) => outcome.status === 401)) {
        reply.header("WWW-Authenticate", "Bearer");
      }
      const retryAfter = Math.max(0, ...outcomes.map((outcome) => outcome.retryAfter ?? 0));
      if (retryAfter > 0) reply.header("Retry-After", String(retryAfter));
      if (!batch) {
        const [only] = outcomes as [Outcome];
        return reply.code(only.status).send(only.body);
      }
      const statuses = new Set(outcomes.map((outcome) => outcome.status));
      const status = statuses.size === 1 ? (outcomes[0] as Outcome).status : 207;
      return reply.code(status).send(outcomes.map((outcome) => outcome.body));
    },
  });
}

type Inputs = { ok: true; value: (index: number) => unknown } | { ok: false; error: AppError };

/** Queries carry their input as JSON in `?input=`, mutations in the body; batches by index. */
function readInputs(req: FastifyRequest, batch: boolean): Inputs {
  let raw: unknown;
  if (req.method === "GET") {
    const text = (req.query as Record<string, unknown>).input;
    if (text !== undefined && typeof text !== "string") {
      return { ok: false, error: new AppError("VALIDATION_ERROR", "Give `input` once") };
    }
    try {
      raw = text === undefined ? undefined : JSON.parse(text);
    } catch {
      return { ok: false, error: new AppError("VALIDATION_ERROR", "`input` is not valid JSON") };
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
