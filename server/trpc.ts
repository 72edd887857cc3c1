import { initTRPC } from "@trpc/server";
import type { OpenApiMeta } from "trpc-to-openapi";
import { authenticate } from "./auth/authenticate.ts";
import type { Context } from "./context.ts";
import { type ApiErrorCode, toAppError } from "./errors.ts";
import { requireRole } from "./permissions.ts";

/**
 * Our own meta beside trpc-to-openapi's: the success status, and the errors particular to the
 * operation (VALIDATION_ERROR, INTERNAL_ERROR and, when protected, UNAUTHENTICATED are implied).
 */
export type Meta = OpenApiMeta<{
  successStatus?: 200 | 201 | 202;
  errors?: ApiErrorCode[];
  /** Documented from this meta, but served by a thin Fastify route: server/rest.ts skips it. */
  rawRoute?: boolean;
}>;

const t = initTRPC
  .context<Context>()
  .meta<Meta>()
  .create({
    // tRPC clients get the contract's code in `error.data.code`, and never a stack.
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
/**
 * Every error leaves a procedure as an AppError, so both doors and `createCaller` see the
 * contract's code and status (a database outage is a 503, not a 500; a zod failure a 400).
 */
export const publicProcedure = t.procedure.use(async ({ next }) => {
  const result = await next();
  return result.ok ? result : { ...result, error: toAppError(result.error) };
});

/** Needs a valid bearer token; narrows `ctx.user` to the caller as stored now. */
export const authedProcedure = publicProcedure.use(async ({ ctx, next }) => {
  const user = await authenticate(ctx);
  return next({ ctx: { user } });
});

/** Admin or AppAdmin; others get 403 UNAUTHORIZED before anything else is looked at. */
export const adminProcedure = authedProcedure.use(({ ctx, next }) => {
  requireRole(ctx.user, "Admin");
  return next();
});

/** AppAdmin only. */
export const appAdminProcedure = authedProcedure.use(({ ctx, next }) => {
  requireRole(ctx.user, "AppAdmin");
  return next();
});
