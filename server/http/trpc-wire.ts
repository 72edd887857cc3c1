import type { AnyRouter } from "@trpc/server";
import { isObservable, observableToAsyncIterable } from "@trpc/server/observable";
import {
  getErrorShape,
  isAsyncIterable,
  jsonlStreamProducer,
  sseHeaders,
  sseStreamProducer,
} from "@trpc/server/unstable-core-do-not-import";
import { type AppError, toAppError } from "../errors/api-errors.ts";

// The one file that uses tRPC's internals (`unstable-core-do-not-import`): how an answer of the
// native door is written, in tRPC v11's wire format, with tRPC's own encoders so every link of a
// stock `@trpc/client` reads it as it reads tRPC's adapters.

export type ProcedureType = "query" | "mutation" | "subscription";

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
      errorEnvelope(router, toAppError(error), {
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
  else data = failed(toAppError(new Error(`Subscription ${call.path} returned no stream`)));
  const body = sseStreamProducer({
    ...config.sse,
    lastEventId: call.lastEventId,
    data,
    serialize: (value) => config.transformer.output.serialize(value),
    formatError: ({ error }) =>
      errorEnvelope(router, toAppError(error), { type: "subscription", ...call }).error,
  });
  return { headers: { ...sseHeaders }, body };
}
