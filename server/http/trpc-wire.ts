import {
  type AnyProcedure,
  type AnyRouter,
  getTRPCErrorFromUnknown,
  TRPCError,
} from "@trpc/server";
import { isObservable, observableToAsyncIterable } from "@trpc/server/observable";
import {
  getErrorShape,
  isAsyncIterable,
  jsonlStreamProducer,
  sseHeaders,
  sseStreamProducer,
} from "@trpc/server/unstable-core-do-not-import";
import type { Context } from "../context.ts";
import { AppError } from "../errors/api-errors.ts";
import type { Meta } from "../trpc.ts";
import { appErrorOf } from "./error-reply.ts";

// The one file that uses tRPC's internals (`unstable-core-do-not-import`, `router._def`, a
// procedure's call signature), so an upgrade of @trpc/server (pinned exactly in package.json)
// is checked in one place: test/http/trpc-wire.test.ts fails, naming this file, if what it
// relies on changes. Here: how the doors find and call procedures, and how an answer of the
// native door is written in tRPC v11's wire format, with tRPC's own encoders so every link of
// a stock `@trpc/client` reads it as it reads tRPC's adapters.

export type ProcedureType = "query" | "mutation" | "subscription";

/** A procedure as tRPC's and trpc-to-openapi's types both describe it. */
type Procedure = { _def: { type: ProcedureType } };

/** Every procedure of a router by its dotted path (`users.list`), nested routers flattened. */
export const proceduresOf = (router: AnyRouter): Record<string, AnyProcedure> =>
  router._def.procedures as Record<string, AnyProcedure>;

export const procedureType = (procedure: Procedure): ProcedureType => procedure._def.type;

/** The meta a procedure declares (`.meta()`), if any. */
export const procedureMeta = (procedure: Procedure): Meta | undefined =>
  (procedure._def as { meta?: Meta }).meta;

/** The schemas a procedure declares: its (first) `.input()` and its `.output()`. */
export function procedureSchemas(procedure: Procedure): { input: unknown; output: unknown } {
  const def = procedure._def as unknown as { inputs: unknown[]; output?: unknown };
  return { input: def.inputs[0], output: def.output };
}

/** What a middleware of a procedure is given: tRPC's internal shape, not part of its API. */
type MiddlewareOptions = {
  ctx: Context;
  path: string;
  type: ProcedureType;
  input: unknown;
  getRawInput: () => Promise<unknown>;
  signal: AbortSignal | undefined;
  meta: Meta | undefined;
  next: (options?: {
    ctx?: object;
    input?: unknown;
    getRawInput?: () => Promise<unknown>;
  }) => Promise<MiddlewareResult>;
};
type MiddlewareResult = { ok: true; data: unknown } | { ok: false; error: TRPCError };
type Middleware = (options: MiddlewareOptions) => Promise<MiddlewareResult>;
/** A procedure's chain: its middlewares, tRPC's input and output parsers, its resolver last. */
type ProcedureDef = { middlewares: Middleware[]; meta: Meta | undefined };

/**
 * Runs a procedure as `createCaller` does (the same middlewares in the same order, with the same
 * options, results and errors), without building a caller proxy per request: how both HTTP
 * doors call procedures. The chain is walked here rather than by tRPC's own procedure function
 * only because that one copies its options object and the context at every step with a
 * property-by-property helper (tens of µs per request); these are the same copies with native
 * spreads. test/http/trpc-wire.test.ts checks both give the same answers and errors.
 */
export async function callProcedure(
  procedure: Procedure,
  path: string,
  ctx: Context,
  input: unknown,
  /** Ends a subscription when its client leaves (queries and mutations run to the end). */
  signal?: AbortSignal,
): Promise<unknown> {
  const def = procedure._def as unknown as ProcedureDef;
  const result = await runChain(def, 0, {
    ctx,
    path,
    type: procedureType(procedure),
    input: undefined,
    getRawInput: () => Promise.resolve(input),
    signal,
  });
  if (!result) {
    throw new TRPCError({
      code: "INTERNAL_SERVER_ERROR",
      message: "No result from middlewares - did you forget to `return next()`?",
    });
  }
  if (!result.ok) throw result.error;
  return result.data;
}

/** tRPC's callRecursive (v11), step for step. */
async function runChain(
  def: ProcedureDef,
  index: number,
  options: Omit<MiddlewareOptions, "meta" | "next">,
): Promise<MiddlewareResult> {
  try {
    const middleware = def.middlewares[index] as Middleware;
    return await middleware({
      ...options,
      meta: def.meta,
      next: (next) =>
        runChain(def, index + 1, {
          ...options,
          ctx: next?.ctx ? { ...options.ctx, ...next.ctx } : options.ctx,
          input: next && "input" in next ? next.input : options.input,
          getRawInput: next?.getRawInput ?? options.getRawInput,
        }),
    });
  } catch (cause) {
    return { ok: false, error: getTRPCErrorFromUnknown(cause) };
  }
}

/** A call's error as tRPC's adapters put it on the wire: `{error: shape}`. */
export type ErrorEnvelope = { error: unknown };

/** One call's outcome: its data, or its error already shaped. */
export type Outcome =
  | { ok: true; data: unknown }
  | { ok: false; error: AppError; envelope: ErrorEnvelope };

/** The error formatter's shape (`error.data.code` is the API's error code), as tRPC builds it. */
export function errorEnvelope(
  router: AnyRouter,
  error: AppError,
  call: { type: ProcedureType | "unknown"; path: string | undefined; input: unknown },
): ErrorEnvelope {
  const config = router._def._config;
  return { error: getErrorShape({ config, error, ...call, ctx: undefined }) };
}

/**
 * `httpBatchStreamLink`'s answer (`trpc-accept: application/jsonl`): JSON lines, a head at once
 * with a placeholder per call, then one chunk per call as it finishes, in any order. The data
 * are nested in promises exactly as tRPC's resolveResponse nests them, so the bytes are the same.
 */
export function jsonlBatchBody(
  router: AnyRouter,
  outcomes: Promise<Outcome>[],
): { contentType: string; body: ReadableStream<Uint8Array> } {
  const config = router._def._config;
  const body = jsonlStreamProducer({
    ...config.jsonl,
    maxDepth: Number.POSITIVE_INFINITY,
    data: outcomes.map(async (pending) => {
      const outcome = await pending;
      if (!outcome.ok) return outcome.envelope;
      return { result: Promise.resolve({ data: Promise.resolve(outcome.data) }) };
    }),
    serialize: (data) => config.transformer.output.serialize(data),
    // Outcomes never reject (errors are caught per call); anything else is a fault.
    formatError: ({ error }) =>
      errorEnvelope(router, appErrorOf(error), {
        type: "unknown",
        path: undefined,
        input: undefined,
      }).error,
  });
  return { contentType: config.jsonl?.contentType ?? "application/json", body };
}

/**
 * `httpSubscriptionLink`'s answer: server-sent events from what a subscription returns (an
 * async iterable or an observable), errors as tRPC's `serialized-error` event.
 */
export function sseBody(
  router: AnyRouter,
  outcome: Outcome,
  call: { path: string; input: unknown; lastEventId: string | null; signal: AbortSignal },
): { headers: Record<string, string>; body: ReadableStream<Uint8Array> } {
  const config = router._def._config;
  const failed = (error: unknown): AsyncIterable<never> => ({
    [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(error) }),
  });
  let data: AsyncIterable<unknown>;
  if (!outcome.ok) data = failed(outcome.error);
  else if (isObservable(outcome.data)) data = observableToAsyncIterable(outcome.data, call.signal);
  else if (isAsyncIterable(outcome.data)) data = outcome.data;
  else {
    const cause = new Error(`Subscription ${call.path} returned no stream`);
    data = failed(new AppError("INTERNAL_ERROR", "Internal server error", { cause }));
  }
  const body = sseStreamProducer({
    ...config.sse,
    lastEventId: call.lastEventId,
    data,
    serialize: (value) => config.transformer.output.serialize(value),
    formatError: ({ error }) =>
      errorEnvelope(router, appErrorOf(error), { type: "subscription", ...call }).error,
  });
  return { headers: { ...sseHeaders }, body };
}
