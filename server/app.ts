import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import { fastifyTRPCPlugin } from "@trpc/server/adapters/fastify";
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyServerOptions,
} from "fastify";
import { sql } from "kysely";
import packageJson from "../package.json" with { type: "json" };
import { appRouter, createCaller } from "../routers/router.ts";
import { createContext, type Deps } from "./context.ts";
import { API_ERRORS, AppError, errorBody, toAppError } from "./errors.ts";
import { buildOpenApiDocument } from "./openapi.ts";
import { registerRestRoutes, requestInfo } from "./rest.ts";

export type AppOptions = { logger?: FastifyServerOptions["logger"] };

/** Secrets never reach the logs, whatever logs a request. */
export const LOG_REDACT = [
  "req.headers.authorization",
  "req.headers.cookie",
  "*.password",
  "*.newPassword",
  "*.currentPassword",
  "*.refreshToken",
  "*.accessToken",
  "*.token",
];

/** Builds the whole service without listening: `main.ts` listens, tests use `inject`. */
export async function buildApp(
  base: Omit<Deps, "log">,
  options: AppOptions = {},
): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: base.config.BODY_LIMIT_BYTES,
    // A user-supplied `__proto__` or `constructor` key is an error, never a prototype change.
    onProtoPoisoning: "error",
    onConstructorPoisoning: "error",
  });
  const deps: Deps = { ...base, log: app.log };

  app.setErrorHandler((error: FastifyError, req, reply) => {
    const appError = fromFastifyError(error) ?? toAppError(error);
    if (appError.apiCode === "INTERNAL_ERROR") req.log.error({ err: error }, "request failed");
    if (appError.apiCode === "UNAUTHENTICATED") reply.header("WWW-Authenticate", "Bearer");
    if (appError.retryAfter) reply.header("Retry-After", String(appError.retryAfter));
    reply.code(API_ERRORS[appError.apiCode].status).send(errorBody(appError));
  });
  app.setNotFoundHandler((req, reply) => {
    reply
      .code(404)
      .send({ code: "NOT_FOUND", message: `No route for ${req.method} ${req.url.split("?")[0]}` });
  });

  registerRestRoutes(app, deps, appRouter, createCaller);
  await app.register(fastifyTRPCPlugin, {
    prefix: "/trpc",
    trpcOptions: {
      router: appRouter,
      createContext: ({ req }: { req: Parameters<typeof requestInfo>[0] }) =>
        createContext(deps, requestInfo(req)),
      onError: ({ error }: { error: Error }) => {
        if (toAppError(error).apiCode === "INTERNAL_ERROR")
          app.log.error({ err: error }, "trpc call failed");
      },
    },
  });

  const document = buildOpenApiDocument(appRouter, base.config.PUBLIC_URL, packageJson.version);
  app.get("/api/openapi.json", () => document);
  await app.register(swagger, { mode: "static", specification: { document: document as never } });
  await app.register(swaggerUi, { routePrefix: "/docs", uiConfig: { persistAuthorization: true } });

  app.get("/healthz", () => ({ status: "ok" }));
  app.get("/readyz", async (_req, reply) => {
    try {
      await sql`select 1 from kysely_migration limit 1`.execute(base.db);
      return { status: "ready" };
    } catch {
      reply.code(503).header("Retry-After", "5");
      return { code: "SERVICE_UNAVAILABLE", message: "Database unreachable or not migrated" };
    }
  });
  return app;
}

/** Fastify's own 4xx (bad JSON, body too large, wrong content type) in the contract's shape. */
function fromFastifyError(error: FastifyError): AppError | undefined {
  if (error instanceof AppError || !error.statusCode || error.statusCode >= 500) return undefined;
  switch (error.statusCode) {
    case 413:
      return new AppError("PAYLOAD_TOO_LARGE", "The request body is too large");
    case 415:
      return new AppError("UNSUPPORTED_MEDIA_TYPE", "Send the body as application/json");
    case 404:
      return new AppError("NOT_FOUND", error.message);
    default:
      return new AppError("VALIDATION_ERROR", `Malformed request: ${error.message}`);
  }
}
