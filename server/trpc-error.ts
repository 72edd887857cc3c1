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
 * never the REST body. The request failed as a whole, so one `{error}`, batch or not.
 */
export function trpcErrorAnswer(
  router: AnyRouter,
  appError: AppError,
  req: FastifyRequest,
): { status: number; body: unknown } {
  const error = getTRPCErrorFromUnknown(appError);
  const shape = getErrorShape({
    config: router._def._config,
    error,
    type: req.method === "GET" ? "query" : "mutation",
    path: undefined,
    input: undefined,
    ctx: undefined,
  });
  return { status: getHTTPStatusCodeFromError(error), body: { error: shape } };
}
