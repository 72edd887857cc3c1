import type { AnyRouter } from "@trpc/server";
import {
  forEachOpenApiProcedure,
  generateOpenApiDocument,
  type OpenAPIObject,
} from "trpc-to-openapi";
import { API_ERRORS, type ApiErrorCode, ZApiErrorBody } from "../errors/api-errors.ts";
import type { Meta } from "../trpc.ts";
import { documentImageRoutes } from "./image-openapi.ts";
import { REST_PREFIX } from "./rest.ts";
import { proceduresOf } from "./trpc-wire.ts";

/**
 * The OpenAPI document, generated from the procedures' meta and zod schemas by trpc-to-openapi,
 * then completed: the success status each operation really answers with (201, 202), and every
 * error response pointing at the one error schema with the codes that status can carry.
 */
export function buildOpenApiDocument(
  router: AnyRouter,
  publicUrl: string,
  version: string,
): OpenAPIObject {
  const document = generateOpenApiDocument(router, {
    title: "Users API",
    description:
      "User accounts: signup, login, admin management, passwords, verification and invitation mail, profile images and organizations. Errors are `{code, message, issues?}`.",
    version,
    baseUrl: `${publicUrl}${REST_PREFIX}`,
    securitySchemes: { bearerAuth: { type: "http", scheme: "bearer", bearerFormat: "JWT" } },
    defs: { Error: ZApiErrorBody },
  });
  // trpc-to-openapi adds per-tRPC-code error schemas; every error here uses the one Error schema.
  const schemas = document.components?.schemas ?? {};
  for (const name of Object.keys(schemas)) if (name.startsWith("error.")) delete schemas[name];
  forEachOpenApiProcedure<Meta>(proceduresOf(router), ({ meta }) => {
    const { path, method } = meta.openapi;
    const operation = document.paths?.[path]?.[method.toLowerCase() as "get"];
    if (!operation?.responses) return;
    const { 200: ok, ...generated } = operation.responses;
    const responses: Record<string, unknown> = { [String(meta.successStatus ?? 200)]: ok };
    for (const status of Object.keys(generated)) delete operation.responses[status];
    // Every operation validates its input and can fail; protected ones need a bearer token.
    const common: ApiErrorCode[] = ["VALIDATION_ERROR", "INTERNAL_ERROR"];
    if (meta.openapi.protect !== false) common.push("UNAUTHENTICATED");
    for (const [status, codes] of errorsByStatus([...common, ...(meta.errors ?? [])])) {
      responses[status] = {
        description: codes.join(", "),
        content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
      };
    }
    operation.responses = responses;
    if (meta.paged) documentRestPage(ok);
  });
  return documentImageRoutes(document);
}

type JsonResponse = {
  content?: Record<string, { schema?: { properties?: Record<string, unknown> } }>;
};

/** A paged operation answers REST clients with `nextLink` only (rest.ts presentPage), not `next`. */
function documentRestPage(ok: unknown): void {
  delete (ok as JsonResponse | undefined)?.content?.["application/json"]?.schema?.properties?.next;
}

function errorsByStatus(codes: ApiErrorCode[]): Map<string, ApiErrorCode[]> {
  const byStatus = new Map<string, ApiErrorCode[]>();
  for (const code of new Set(codes)) {
    const status = String(API_ERRORS[code].status);
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return new Map([...byStatus].sort(([a], [b]) => a.localeCompare(b)));
}
