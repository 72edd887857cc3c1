import { TRPCError } from "@trpc/server";
import type { TRPC_ERROR_CODE_KEY } from "@trpc/server/rpc";
import { ZodError, z } from "zod";
import { isDatabaseUnavailable, isForeignKeyViolation } from "./driver-errors.ts";

/** The closed list of error codes (API.md, Errors), with their HTTP status and tRPC code. */
export const API_ERRORS = {
  VALIDATION_ERROR: { status: 400, trpc: "BAD_REQUEST" },
  WEAK_PASSWORD: { status: 400, trpc: "BAD_REQUEST" },
  INVALID_FILTER: { status: 400, trpc: "BAD_REQUEST" },
  UNAUTHENTICATED: { status: 401, trpc: "UNAUTHORIZED" },
  INVALID_CREDENTIALS: { status: 401, trpc: "UNAUTHORIZED" },
  INVALID_SECOND_FACTOR: { status: 401, trpc: "UNAUTHORIZED" },
  UNAUTHORIZED: { status: 403, trpc: "FORBIDDEN" },
  INVALID_CURRENT_PASSWORD: { status: 403, trpc: "FORBIDDEN" },
  STEP_UP_REQUIRED: { status: 403, trpc: "FORBIDDEN" },
  SECOND_FACTOR_ENROLMENT_REQUIRED: { status: 403, trpc: "FORBIDDEN" },
  USER_NOT_FOUND: { status: 404, trpc: "NOT_FOUND" },
  IMAGE_NOT_FOUND: { status: 404, trpc: "NOT_FOUND" },
  NOT_FOUND: { status: 404, trpc: "NOT_FOUND" },
  METHOD_NOT_ALLOWED: { status: 405, trpc: "METHOD_NOT_SUPPORTED" },
  // Sent by the HTTP layer only (a request it cannot read whole), never by a procedure.
  REQUEST_TIMEOUT: { status: 408, trpc: "TIMEOUT" },
  EMAIL_TAKEN: { status: 409, trpc: "CONFLICT" },
  USERNAME_TAKEN: { status: 409, trpc: "CONFLICT" },
  CONFLICT: { status: 409, trpc: "CONFLICT" },
  PAYLOAD_TOO_LARGE: { status: 413, trpc: "PAYLOAD_TOO_LARGE" },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, trpc: "UNSUPPORTED_MEDIA_TYPE" },
  RATE_LIMITED: { status: 429, trpc: "TOO_MANY_REQUESTS" },
  HEADERS_TOO_LARGE: { status: 431, trpc: "BAD_REQUEST" },
  INTERNAL_ERROR: { status: 500, trpc: "INTERNAL_SERVER_ERROR" },
  SERVICE_UNAVAILABLE: { status: 503, trpc: "SERVICE_UNAVAILABLE" },
} as const satisfies Record<string, { status: number; trpc: TRPC_ERROR_CODE_KEY }>;

export type ApiErrorCode = keyof typeof API_ERRORS;

export const ZApiErrorBody = z
  .object({
    code: z.enum(Object.keys(API_ERRORS) as [ApiErrorCode, ...ApiErrorCode[]]),
    message: z.string(),
    issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
    requestId: z.string().optional().meta({ description: "On 500s: quote it to support" }),
  })
  .meta({ id: "Error", description: "Every error response has this body" });

export type ApiErrorBody = Omit<z.infer<typeof ZApiErrorBody>, "requestId">;
export type ApiIssue = { path: string; message: string };

/**
 * The one error type of the service. It is a TRPCError, so tRPC callers (createCaller and
 * HTTP clients) see the right tRPC code, and it carries the API's error code for both doors.
 */
export class AppError extends TRPCError {
  readonly apiCode: ApiErrorCode;
  readonly issues: ApiIssue[] | undefined;
  /** Seconds, sent as `Retry-After` with 429 and 503. */
  readonly retryAfter: number | undefined;

  constructor(
    apiCode: ApiErrorCode,
    message: string,
    extra: { issues?: ApiIssue[]; retryAfter?: number; cause?: unknown } = {},
  ) {
    super({ code: API_ERRORS[apiCode].trpc, message, cause: extra.cause });
    this.apiCode = apiCode;
    this.issues = extra.issues;
    this.retryAfter = extra.retryAfter;
  }
}

const issuePath = (path: readonly PropertyKey[]) => path.map(String).join(".");

export const zodIssues = (error: ZodError): ApiIssue[] =>
  error.issues.map((issue) => ({ path: issuePath(issue.path), message: issue.message }));

const GENERIC_BY_TRPC: Partial<Record<TRPC_ERROR_CODE_KEY, ApiErrorCode>> = {
  BAD_REQUEST: "VALIDATION_ERROR",
  PARSE_ERROR: "VALIDATION_ERROR",
  UNAUTHORIZED: "UNAUTHENTICATED",
  FORBIDDEN: "UNAUTHORIZED",
  NOT_FOUND: "NOT_FOUND",
  METHOD_NOT_SUPPORTED: "METHOD_NOT_ALLOWED",
  PAYLOAD_TOO_LARGE: "PAYLOAD_TOO_LARGE",
  UNSUPPORTED_MEDIA_TYPE: "UNSUPPORTED_MEDIA_TYPE",
  TOO_MANY_REQUESTS: "RATE_LIMITED",
  SERVICE_UNAVAILABLE: "SERVICE_UNAVAILABLE",
};

/** Turns anything thrown into an AppError; unknown errors become a generic 500. */
export function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  if (error instanceof ZodError) {
    const issues = zodIssues(error);
    // The listing language's parameters ($top, $skip, …) have their own code.
    if (issues.every((issue) => issue.path.startsWith("$"))) {
      const first = issues[0] as ApiIssue;
      return new AppError("INVALID_FILTER", `${first.path}: ${first.message}`, { issues });
    }
    return new AppError("VALIDATION_ERROR", "Input failed validation", { issues });
  }
  if (error instanceof TRPCError) {
    if (error.cause instanceof AppError) return error.cause;
    if (error.cause instanceof ZodError) return toAppError(error.cause);
    const apiCode = GENERIC_BY_TRPC[error.code];
    if (apiCode) return new AppError(apiCode, error.message);
  }
  if (isForeignKeyViolation(error)) {
    return new AppError("CONFLICT", "A record this change depends on was changed meanwhile", {
      cause: error,
    });
  }
  if (isDatabaseUnavailable(error)) {
    return new AppError("SERVICE_UNAVAILABLE", "The database is unavailable; retry shortly", {
      retryAfter: 5,
      cause: error,
    });
  }
  return new AppError("INTERNAL_ERROR", "Internal server error", { cause: error });
}
