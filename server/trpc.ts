import { initTRPC } from "@trpc/server";
import type { OpenApiMeta } from "trpc-to-openapi";
import type { Role } from "../db/database.ts";
import { authenticate, type Caller } from "./auth/authenticate.ts";
import type { Context } from "./context.ts";
import { API_ERRORS, type ApiErrorCode, AppError, toAppError } from "./errors/api-errors.ts";
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
  /**
   * A GET of a collection whose output's `next` is the input of the next page; each door
   * presents it (server/http/rest.ts presentPage): REST as a `nextLink` URL, tRPC with both.
   */
  paged?: boolean;
  /**
   * A DELETE whose input is a JSON body (a password, say, which never belongs in a URL): the
   * REST door reads the body, and the OpenAPI document shows it as one (server/http/openapi.ts).
   */
  bodyOnDelete?: boolean;
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
    // tRPC clients get the API's error code (API.md) in `error.data.code`, and never a stack. The doors
    // hand in AppErrors already; tRPC's own errors (met by its adapters) are mapped here.
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
          // Seconds until a RATE_LIMITED or busy call is worth trying again (REST: Retry-After).
          ...(appError.retryAfter !== undefined && { retryAfter: appError.retryAfter }),
        },
      };
    },
  });

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;
type MiddlewareResult = { ok: true } | { ok: false; error: unknown };

/**
 * The procedure kit's one normalisation: whatever a procedure (its authentication included)
 * throws or fails with leaves it as an AppError (a database outage a 503, a zod failure a 400),
 * so both doors and `createCaller` see the API's error code and status (API.md).
 */
async function asAppErrors<R extends MiddlewareResult>(run: () => Promise<R>): Promise<R> {
  let result: R;
  try {
    result = await run();
  } catch (error) {
    throw toAppError(error);
  }
  return result.ok ? result : { ...result, error: toAppError(result.error) };
}

export const publicProcedure = t.procedure.use(({ next }) => asAppErrors(() => next()));

/**
 * Needs a valid bearer token (and at least `role`); narrows `ctx.user` to the caller as stored
 * now. One middleware does it all, errors included: each level costs every request.
 */
const callerProcedure = (role?: Role, allowEnrolmentOnly = false) =>
  t.procedure.use(({ ctx, next, type }) =>
    asAppErrors(async () => {
      const user: Caller = await authenticate(ctx);
      if (user.enrolmentOnly && !allowEnrolmentOnly) throw enrolmentRequired();
      if (role) requireRole(user, role);
      if (!ctx.reads.enabled) return next({ ctx: { user } });
      if (type !== "query") {
        // Whatever it did, a write may have happened: the caller's reads follow it (any process).
        const result = await next({ ctx: { user } });
        await ctx.reads.wrote(user.id);
        return result;
      }
      const choice = ctx.reads.choose(user.id);
      const result = await next({ ctx: { user, reader: choice.db } });
      if (result.ok || !choice.replica || !failedOnServer(result.error)) return result;
      // A replica that fails (stopped since its last check, a recovery conflict): the primary
      // answers instead, so no answer depends on a replica being up. Reads only: safe to repeat.
      ctx.reads.replicaFailed(choice.replica);
      return next({ ctx: { user, reader: ctx.db } });
    }),
  );

const failedOnServer = (error: unknown) => API_ERRORS[toAppError(error).apiCode].status >= 500;

const enrolmentRequired = () =>
  new AppError(
    "SECOND_FACTOR_ENROLMENT_REQUIRED",
    "Enrol a second factor first: this token only allows enrolling TOTP (POST /api/users/me/factors/totp and its confirmation) or registering a passkey",
  );

export const authedProcedure = callerProcedure();

/**
 * Like authedProcedure, and also open to a token good only for enrolling a second factor
 * (REQUIRE_SECOND_FACTOR_FOR_ADMINS): the enrolment procedures only.
 */
export const enrolmentProcedure = callerProcedure(undefined, true);

/** Admin or AppAdmin; others get 403 UNAUTHORIZED before anything else is looked at. */
export const adminProcedure = callerProcedure("Admin");

/** AppAdmin only. */
export const appAdminProcedure = callerProcedure("AppAdmin");
