import { initTRPC } from "@trpc/server";
import type { OpenApiMeta } from "trpc-to-openapi";
import type { Role } from "../db/database.ts";
import { authenticate, type Caller } from "./auth/authenticate.ts";
import type { Context } from "./context.ts";
import { type ApiErrorCode, toAppError } from "./errors/api-errors.ts";
import { requireRole } from "./permissions/permissions.ts";

/**
 * Our own meta beside trpc-to-openapi's: the success status, and the errors particular to the
 * operation (VALIDATION_ERROR, INTERNAL_ERROR and, when protected, UNAUTHENTICATED are implied).
 */
export type Meta = OpenApiMeta<{
  successStatus?: 200 | 201 | 202;
  errors?: ApiErrorCode[];
  /** Documented from this meta, but served by a thin Fastify route: server/http/rest.ts skips it. */
  rawRoute?: boolean;
}>;

/**
 * Where the REST door serves every `openapi.path` (`/users/{id}` at `/api/users/:id`): here, so
 * procedures that link to another operation (an image's URL) can write its address too.
 */
export const REST_PREFIX = "/api";

const t = initTRPC
  .context<Context>()
  .meta<Meta>()
  .create({
    // tRPC clients get the API's error code (API.md) in `error.data.code`, and never a stack.
    errorFormatter({ shape, error }) {
      const appError = toAppError(error);
      return {
        message: appError.apiCode === "INTERNAL_ERROR" ? "Internal server error" : shape.message,
        code: shape.code,
        data: {
          code: appError.apiCode,
          httpStatus: shape.data.httpStatus,
          path: shape.data.path,
          ...(appError.issues && { issues: appError.issues }),
        },
      };
    },
  });

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;
type MiddlewareResult = { ok: true } | { ok: false; error: unknown };

/** A failed result's error as an AppError: a database outage is a 503, a zod failure a 400. */
const normalized = <R extends MiddlewareResult>(result: R): R =>
  result.ok ? result : { ...result, error: toAppError(result.error) };

/**
 * Every error leaves a procedure as an AppError, so both doors and `createCaller` see the
 * API's error code and status (API.md).
 */
export const publicProcedure = t.procedure.use(async ({ next }) => normalized(await next()));

/**
 * Needs a valid bearer token (and at least `role`); narrows `ctx.user` to the caller as stored
 * now. One middleware does it all, errors included: each level costs every request.
 */
const callerProcedure = (role?: Role) =>
  t.procedure.use(async ({ ctx, next }) => {
    let user: Caller;
    try {
      user = await authenticate(ctx);
      if (role) requireRole(user, role);
    } catch (error) {
      throw toAppError(error);
    }
    return normalized(await next({ ctx: { user } }));
  });

export const authedProcedure = callerProcedure();

/** Admin or AppAdmin; others get 403 UNAUTHORIZED before anything else is looked at. */
export const adminProcedure = callerProcedure("Admin");

/** AppAdmin only. */
export const appAdminProcedure = callerProcedure("AppAdmin");

type ProcedureCall = (options: {
  ctx: Context;
  path: string;
  type: "query" | "mutation" | "subscription";
  getRawInput: () => Promise<unknown>;
  signal: AbortSignal | undefined;
}) => Promise<unknown>;

/**
 * Runs a procedure as `createCaller` does (same middlewares, same errors), without building a
 * caller proxy per request: how both HTTP doors call procedures.
 */
export function callProcedure(
  procedure: { _def: { type: "query" | "mutation" | "subscription" } },
  path: string,
  ctx: Context,
  input: unknown,
  /** Ends a subscription when its client leaves (queries and mutations run to the end). */
  signal?: AbortSignal,
): Promise<unknown> {
  return (procedure as unknown as ProcedureCall)({
    ctx,
    path,
    type: procedure._def.type,
    getRawInput: () => Promise.resolve(input),
    signal,
  });
}
