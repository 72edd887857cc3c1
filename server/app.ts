import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import Fastify, { type FastifyInstance, type FastifyReply, LogController } from "fastify";
import { sql } from "kysely";
import packageJson from "../package.json" with { type: "json" };
import { appRouter } from "../routers/router.ts";
import type { Deps } from "./context.ts";
import { closeDeps, type ProcessDeps } from "./deps.ts";
import { AppError } from "./errors/api-errors.ts";
import { assertJsonDepth } from "./http/bounded-json.ts";
import { consoleDir, registerConsoleFiles } from "./http/console/serve.ts";
import { registerConsoleSession } from "./http/console/session.ts";
import { failedRequest, sendRestError } from "./http/error-reply.ts";
import { clientErrorHandler, registerHttpHygiene, requestId } from "./http/hygiene.ts";
import { registerImageRoutes } from "./http/image-routes.ts";
import { registerMetrics } from "./http/metrics.ts";
import { buildOpenApiDocument } from "./http/openapi.ts";
import { registerPages } from "./http/pages/register.ts";
import { registerPortingRoutes } from "./http/porting-routes.ts";
import { registerRestRoutes } from "./http/rest.ts";
import { isTrpcUrl, registerTrpcDoor, sendTrpcError } from "./http/trpc-http.ts";

declare module "fastify" {
  interface FastifyRequest {
    /** The authenticated caller, once known (for the request log). */
    userId: number | undefined;
  }
  interface FastifyInstance {
    /** Makes every new request a 503 while the requests in flight finish (graceful shutdown). */
    startDraining: () => void;
    /** What the procedures run with (tests and thin routes use it). */
    deps: Deps;
  }
}

/**
 * Builds the whole service on `deps` (see buildDeps) without listening: `main.ts` listens, tests
 * use `inject`. The app owns `deps` from here: closing the app closes them.
 */
export async function buildApp(deps: ProcessDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.log,
    bodyLimit: deps.config.BODY_LIMIT_BYTES,
    trustProxy: trustProxy(deps.config.TRUST_PROXY),
    genReqId: requestId,
    logController: new LogController({ disableRequestLogging: true }),
    // Errors the router raises before any handler (a malformed %-encoded path) in our shape.
    frameworkErrors: (error, req, reply) => {
      const malformed = new AppError("VALIDATION_ERROR", `Malformed request: ${error.message}`);
      if (isTrpcUrl(req.url)) return sendTrpcError(reply as FastifyReply, appRouter, malformed);
      sendRestError(reply as FastifyReply, malformed);
    },
    // What Node's HTTP parser refuses (URL or headers too large, …) in our shape too.
    clientErrorHandler,
    // `/api/users/` is `/api/users`, as clients expect.
    routerOptions: { ignoreTrailingSlash: true },
    // Draining answers in the API's error body (registerHttpHygiene), not Fastify's.
    return503OnClosing: false,
    // A user-supplied `__proto__` or `constructor` key is an error, never a prototype change.
    onProtoPoisoning: "error",
    onConstructorPoisoning: "error",
  });
  app.decorate("deps", deps);
  // The mail worker finishes the mail it is sending while the requests in flight finish, not
  // after them; closeDeps then waits for it before closing what it uses.
  app.addHook("preClose", async () => {
    void deps.mail?.worker.stop();
    void deps.webhooks?.stop();
  });
  app.addHook("onClose", () => closeDeps(deps));
  let draining = false;

  // An empty JSON body (a POST without input) is no input, not a parse error. Nesting is bounded
  // before parsing (both doors' bodies come through here), so no body builds millions of arrays.
  const parseJson = app.getDefaultJsonParser("error", "error");
  app.addContentTypeParser("application/json", { parseAs: "string" }, (req, body, done) => {
    const text = body.toString();
    if (text === "") return done(null, undefined);
    try {
      assertJsonDepth(text, deps.config.JSON_MAX_DEPTH);
    } catch (error) {
      return done(error as Error);
    }
    parseJson(req, text, done);
  });

  app.setErrorHandler(failedRequest(sendRestError));
  // Before every route, so each answer is counted.
  registerMetrics(app, deps, appRouter);

  await registerHttpHygiene(app, deps.config, () => draining);
  const restRoutes = [
    ...registerRestRoutes(app, deps, appRouter),
    ...(await registerImageRoutes(app, deps)),
    ...(await registerPortingRoutes(app, deps)),
  ];
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split("?")[0] ?? "";
    const allowed = new Set(restRoutes.filter((r) => r.pattern.test(path)).map((r) => r.method));
    if (allowed.size > 0) {
      reply.header("allow", [...allowed].join(", "));
      return sendRestError(
        reply,
        new AppError("METHOD_NOT_ALLOWED", `${req.method} is not allowed here`),
      );
    }
    return sendRestError(reply, new AppError("NOT_FOUND", `No route for ${req.method} ${path}`));
  });

  await registerTrpcDoor(app, deps, appRouter);

  const document = buildOpenApiDocument(appRouter, deps.config.PUBLIC_URL, packageJson.version);
  app.get("/api/openapi.json", () => document);
  await app.register(swagger, { mode: "static", specification: { document: document as never } });
  await app.register(swaggerUi, {
    routePrefix: "/docs",
    // Off unless asked for: a token kept in localStorage outlives the tab for any script to read.
    uiConfig: { persistAuthorization: deps.config.DOCS_PERSIST_AUTHORIZATION === "on" },
    // The docs page needs its own scripts and styles; the API answers keep `default-src 'none'`.
    staticCSP: true,
    transformStaticCSP: () =>
      "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'",
  });

  registerPages(app);
  registerConsoleFiles(app, consoleDir(deps.config.CONSOLE_DIR));
  registerConsoleSession(app, deps);
  app.get("/.well-known/jwks.json", (_req, reply) => {
    if (!deps.tokens.jwks) {
      return sendRestError(
        reply,
        new AppError("NOT_FOUND", "Tokens are signed with a shared secret (HS256)"),
      );
    }
    return reply.header("cache-control", "public, max-age=300").send(deps.tokens.jwks);
  });
  app.get("/healthz", () => ({ status: "ok" }));
  app.get("/readyz", async (_req, reply) => {
    try {
      await sql`select 1 from kysely_migration limit 1`.execute(deps.db);
      return { status: "ready" };
    } catch {
      const unavailable = new AppError(
        "SERVICE_UNAVAILABLE",
        "Database unreachable or not migrated",
        { retryAfter: 5 },
      );
      return sendRestError(reply, unavailable);
    }
  });
  app.decorate("startDraining", () => {
    draining = true;
    // Keep-alive sockets between requests are closed now; busy ones close after their answer.
    app.server.closeIdleConnections();
  });
  return app;
}

/** TRUST_PROXY: the proxies' addresses or CIDRs (comma-separated, or `loopback`); unset trusts no X-Forwarded-For. */
const trustProxy = (setting: string | undefined): string | false => setting ?? false;
