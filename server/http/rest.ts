import type { AnyRouter } from "@trpc/server";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { forEachOpenApiProcedure } from "trpc-to-openapi";
import { z } from "zod";
import { createContext, type Deps, type RequestInfo } from "../context.ts";
import { AppError } from "../errors/api-errors.ts";
import { type Meta, REST_PREFIX } from "../trpc.ts";
import { callProcedure, procedureSchemas, proceduresOf } from "./trpc-wire.ts";

/** A registered REST route: its method and a pattern matching concrete paths (for 405s). */
export type RestRoute = { method: string; pattern: RegExp };

/** The Fastify route URL of an operation's `openapi.path`: `/users/{id}` → `/api/users/:id`. */
export const restUrl = (openapiPath: string) =>
  REST_PREFIX + openapiPath.replace(/\{(\w+)\}/g, ":$1");

/** Matches the concrete paths a Fastify route URL (`/api/users/:id`) serves, slash or not. */
export const routePattern = (url: string) => new RegExp(`^${url.replace(/:\w+/g, "[^/]+")}/?$`);

export const requestInfo = (req: FastifyRequest): RequestInfo => ({
  authorization: req.headers.authorization,
  ip: req.ip,
  userAgent: req.headers["user-agent"],
  onAuthenticated: (userId) => {
    req.userId = userId;
  },
});

/**
 * The REST door: one Fastify route per procedure with `openapi` meta, at the path that meta
 * gives. Fastify's router matches static segments before parameters whatever the order, and
 * the handler calls the procedure directly, without a Fetch Request per call.
 */
export function registerRestRoutes(
  app: FastifyInstance,
  deps: Deps,
  router: AnyRouter,
): RestRoute[] {
  const routes: RestRoute[] = [];
  forEachOpenApiProcedure<Meta>(proceduresOf(router), ({ path, procedure, meta }) => {
    if (meta.rawRoute) return; // served by server/http/image-routes.ts
    const { method, path: openapiPath } = meta.openapi;
    const url = restUrl(openapiPath);
    const pathParams = [...openapiPath.matchAll(/\{(\w+)\}/g)].map((match) => match[1] as string);
    const { input: inputSchema } = procedureSchemas(procedure);
    const coerceQuery = stringCoercer(inputSchema, QUERY_NUMBER);
    const coercePath = stringCoercer(inputSchema, PATH_ID);
    const takesBody =
      method === "POST" || method === "PUT" || method === "PATCH" || meta.bodyOnDelete === true;
    routes.push({ method, pattern: routePattern(url) });

    app.route({
      method,
      url,
      config: { procedure: path },
      handler: async (req, reply) => {
        const params = coercePath(req.params as Record<string, unknown>);
        let input: Record<string, unknown>;
        if (takesBody) {
          const body = req.body ?? {};
          if (typeof body !== "object" || Array.isArray(body)) {
            throw new AppError("VALIDATION_ERROR", "The request body must be a JSON object");
          }
          const clash = pathParams.find((name) => Object.hasOwn(body, name));
          if (clash) {
            throw new AppError("VALIDATION_ERROR", `'${clash}' is taken from the path`, {
              issues: [{ path: clash, message: "Unrecognized key in body" }],
            });
          }
          input = { ...(body as Record<string, unknown>), ...params };
        } else {
          input = { ...coerceQuery(req.query as Record<string, unknown>), ...params };
        }
        const ctx = createContext(deps, requestInfo(req));
        const result = await callProcedure(procedure, path, ctx, input);
        reply.code(meta.successStatus ?? 200);
        if (!meta.paged) return result;
        return presentPage("rest", result, deps.config.PUBLIC_URL, openapiPath);
      },
    });
  });
  return routes;
}

/** What a paged procedure (meta `paged`) answers: a page and, if more follow, the next one's input. */
type Page = { next?: Record<string, string | number | undefined> };

/**
 * A page as a door presents it. The procedure gives the input of the next page; REST clients
 * follow a `nextLink` (this door's URL of the collection with that input as its query), native
 * tRPC callers get the same link beside `next`, the input to call the procedure with.
 */
export function presentPage(
  door: "rest" | "trpc",
  result: unknown,
  publicUrl: string,
  openapiPath: string,
): unknown {
  const { next, ...page } = result as Page;
  if (!next) return result;
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(next)) {
    if (value !== undefined) query.set(key, String(value));
  }
  const nextLink = `${publicUrl}${REST_PREFIX}${openapiPath}?${query.toString()}`;
  return door === "rest" ? { ...page, nextLink } : { ...page, nextLink, next };
}

/** A number in a query string (`$top=10`). */
const QUERY_NUMBER = /^-?\d+(\.\d+)?$/;
/**
 * A number in a path is an id: exact ASCII digits only, so `/users/%201`, `/users/1.0` or
 * `/users/+1` are not another spelling of user 1 (the schema then refuses the string with 400).
 */
const PATH_ID = /^[0-9]+$/;

/**
 * Query and path values arrive as strings; numbers and booleans are converted here, for the REST
 * door only, by reading the input schema. trpc-to-openapi instead sets `coerce` on the shared
 * schemas, which would loosen the native tRPC door too.
 */
function stringCoercer(schema: unknown, numberPattern: RegExp) {
  const kinds = new Map<string, "number" | "boolean">();
  const object = unwrap(schema);
  if (object instanceof z.ZodObject) {
    for (const [key, field] of Object.entries(object.shape)) {
      const inner = unwrap(field);
      if (inner instanceof z.ZodNumber) kinds.set(key, "number");
      if (inner instanceof z.ZodBoolean) kinds.set(key, "boolean");
    }
  }
  return (values: Record<string, unknown>): Record<string, unknown> => {
    const out: Record<string, unknown> = { ...values };
    for (const [key, kind] of kinds) {
      const value = out[key];
      if (typeof value !== "string") continue;
      if (kind === "number" && numberPattern.test(value)) out[key] = Number(value);
      if (kind === "boolean" && (value === "true" || value === "false"))
        out[key] = value === "true";
    }
    return out;
  };
}

function unwrap(schema: unknown): unknown {
  let current = schema;
  while (
    current instanceof z.ZodOptional ||
    current instanceof z.ZodDefault ||
    current instanceof z.ZodNullable
  ) {
    current = current.unwrap();
  }
  return current;
}
