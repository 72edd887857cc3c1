import type { FastifyBaseLogger, FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { API_ERRORS, type ApiErrorBody, AppError, toAppError } from "../errors/api-errors.ts";

// How the doors answer errors: each turns what was thrown into the contract's AppError once
// (appErrorOf), logs it once (logFailure) and writes it with one function (REST: sendRestError;
// the native door writes tRPC's shape with its own, from server/http/trpc-http.ts).

/** A door's one normalisation: anything thrown, Fastify's own 4xx included, as an AppError. */
export const appErrorOf = (error: unknown): AppError =>
  fromFastifyError(error) ?? toAppError(error);

/** Fastify's own 4xx (bad JSON, body too large, wrong content type) as the contract's codes. */
function fromFastifyError(error: unknown): AppError | undefined {
  if (error instanceof AppError || typeof error !== "object" || error === null) return undefined;
  const { statusCode, message } = error as FastifyError;
  if (!statusCode || statusCode >= 500) return undefined;
  switch (statusCode) {
    case 413:
      return new AppError("PAYLOAD_TOO_LARGE", "The request body is too large");
    case 415:
      return new AppError("UNSUPPORTED_MEDIA_TYPE", "Send the body as application/json");
    case 404:
      return new AppError("NOT_FOUND", message);
    default:
      return new AppError("VALIDATION_ERROR", `Malformed request: ${message}`);
  }
}

/** The contract's body of an error: `{code, message, issues?}`. */
export function errorBody(error: AppError): ApiErrorBody {
  const body: ApiErrorBody = { code: error.apiCode, message: error.message };
  if (error.issues) body.issues = error.issues;
  return body;
}

/** `WWW-Authenticate` when a call needs a token, `Retry-After` when one is to be retried. */
export function setErrorHeaders(reply: FastifyReply, errors: readonly AppError[]): void {
  if (errors.some((error) => error.apiCode === "UNAUTHENTICATED")) {
    reply.header("WWW-Authenticate", "Bearer");
  }
  const retryAfter = Math.max(0, ...errors.map((error) => error.retryAfter ?? 0));
  if (retryAfter > 0) reply.header("Retry-After", String(retryAfter));
}

/** The REST door's one writer of an error: status, headers and the contract's body. */
export function sendRestError(reply: FastifyReply, error: AppError): FastifyReply {
  setErrorHeaders(reply, [error]);
  const body = errorBody(error);
  return reply
    .code(API_ERRORS[error.apiCode].status)
    .send(error.apiCode === "INTERNAL_ERROR" ? { ...body, requestId: reply.request.id } : body);
}

/**
 * A door's handler for a request that fails as a whole: normalised and logged once, then
 * written by that door's writer. Given to Fastify as `setErrorHandler`.
 */
export const failedRequest =
  (write: (reply: FastifyReply, error: AppError) => FastifyReply) =>
  (cause: unknown, req: FastifyRequest, reply: FastifyReply): FastifyReply => {
    const error = appErrorOf(cause);
    logFailure(req.log, error, cause);
    return write(reply, error);
  };

/** How a failed request is logged, the same for both doors: faults, outages and denials. */
export function logFailure(log: FastifyBaseLogger, error: AppError, cause: unknown): void {
  const status = API_ERRORS[error.apiCode].status;
  if (status >= 500 && error.apiCode !== "SERVICE_UNAVAILABLE")
    log.error({ err: cause }, "request failed");
  else if (error.apiCode === "SERVICE_UNAVAILABLE") log.warn({ err: cause }, "unavailable");
  else if (status === 401 || status === 403) log.info({ code: error.apiCode }, "denied");
}
