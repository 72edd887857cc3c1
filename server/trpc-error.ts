import type { AnyRouter } from "@trpc/server";
import {
  getErrorShape,
  getHTTPStatusCodeFromError,
  getTRPCErrorFromUnknown,
} from "@trpc/server/unstable-core-do-not-import";
import type { FastifyRequest } from "fastify";
import type { AppError } from "./errors.ts";

/** Whether the request was routed to the native tRPC door. */
export const isTrpcRequest = (req: FastifyRequest) =>
  req.routeOptions.url?.startsWith("/trpc/") === true;

/**
 * An error raised on the tRPC door before its handler ran (a body that cannot be parsed, an
 * upload refused before it is read), in tRPC's shape: a tRPC client reads `error.data.code`,
 * never the REST body. One entry per call for a batch.
 */
export function trpcErrorAnswer(
  router: AnyRouter,
  appError: AppError,
  req: FastifyRequest,
): { status: number; body: unknown } {
  const error = getTRPCErrorFromUnknown(appError);
  const joined = (req.params as { path?: string }).path ?? "";
  const batch = ["1", "true"].includes(String((req.query as { batch?: unknown }).batch));
  const type = req.method === "GET" ? "query" : "mutation";
  const shapes = (batch ? joined.split(",") : [joined]).map((path) => ({
    error: getErrorShape({
      config: router._def._config,
      error,
      type,
      path,
      input: undefined,
      ctx: undefined,
    }),
  }));
  return { status: getHTTPStatusCodeFromError(error), body: batch ? shapes : shapes[0] };
}
