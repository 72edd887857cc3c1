import type { AnyRouter } from "@trpc/server";
import {
  forEachOpenApiProcedure,
  generateOpenApiDocument,
  type OpenAPIObject,
} from "trpc-to-openapi";
import {
  API_ERRORS,
  type ApiErrorBody,
  type ApiErrorCode,
  ZApiErrorBody,
} from "../errors/api-errors.ts";
import { type Meta, REST_PREFIX } from "../trpc.ts";
import { documentImageRoutes } from "./image-openapi.ts";
import { documentPortingRoutes } from "./porting-openapi.ts";
import { proceduresOf } from "./trpc-wire.ts";

/**
 * The OpenAPI document, generated from the procedures' meta and zod schemas by trpc-to-openapi,
 * then completed: the success status each operation really answers with (201, 202), every error
 * response pointing at the one error schema with the codes that status can carry (each with an
 * example of its own), and examples for the ids, counts and times no schema gives one.
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
    // Every operation validates its input and can fail; protected ones need a bearer token;
    // a JSON body over BODY_LIMIT_BYTES is refused before any procedure runs.
    const common: ApiErrorCode[] = ["VALIDATION_ERROR", "INTERNAL_ERROR"];
    if (meta.openapi.protect !== false) common.push("UNAUTHENTICATED");
    const body =
      operation.requestBody && "content" in operation.requestBody
        ? operation.requestBody.content["application/json"]
        : undefined;
    if (body) common.push("PAYLOAD_TOO_LARGE");
    // The validation example names a field this operation really has (a listing parameter's
    // error is INVALID_FILTER instead).
    const fields = [
      ...Object.keys((body?.schema as { properties?: object } | undefined)?.properties ?? {}),
      ...(operation.parameters ?? []).map((parameter) =>
        "name" in parameter ? parameter.name : "",
      ),
    ].filter((name) => name && !name.startsWith("$"));
    for (const [status, codes] of errorsByStatus([...common, ...(meta.errors ?? [])])) {
      responses[status] = {
        description: codes.join(", "),
        content: {
          "application/json": {
            schema: { $ref: "#/components/schemas/Error" },
            examples: Object.fromEntries(
              codes.map((code) => [code, { value: errorExample(code, fields[0]) }]),
            ),
          },
        },
      };
    }
    operation.responses = responses;
    if (meta.paged) documentRestPage(ok);
  });
  exemplifyScalars(document);
  return documentPortingRoutes(documentImageRoutes(document));
}

/** One message per code, as the service words it, for the error examples. */
const ERROR_MESSAGES: Record<ApiErrorCode, string> = {
  VALIDATION_ERROR: "Input failed validation",
  WEAK_PASSWORD: "Password must be at least 15 characters",
  INVALID_FILTER: "position 9: expected a value after 'eq'",
  UNAUTHENTICATED: "Invalid or expired access token",
  INVALID_CREDENTIALS: "The email or password is incorrect",
  INVALID_SECOND_FACTOR: "The code is incorrect, expired or already used",
  UNAUTHORIZED: "Your role does not allow this operation",
  INVALID_CURRENT_PASSWORD: "The current password is incorrect",
  STEP_UP_REQUIRED:
    "This change needs a sign-in within the last 300 seconds: step up (POST /api/auth/step-up) and retry with the new access token",
  SECOND_FACTOR_ENROLMENT_REQUIRED:
    "Enrol a second factor first: this token only allows POST /api/users/me/factors/totp and its confirmation",
  USER_NOT_FOUND: "User not found",
  IMAGE_NOT_FOUND: "The user has no profile image",
  NOT_FOUND: "Organization not found",
  METHOD_NOT_ALLOWED: "DELETE is not allowed here",
  REQUEST_TIMEOUT: "The request was not received in time",
  EMAIL_TAKEN: "That email is already in use",
  USERNAME_TAKEN: "That username is already in use",
  CONFLICT: "This link is invalid, used or expired",
  PAYLOAD_TOO_LARGE: "The request body is too large",
  UNSUPPORTED_MEDIA_TYPE: "The upload is not a JPEG, PNG or WebP image",
  RATE_LIMITED: "Too many requests; retry later",
  HEADERS_TOO_LARGE: "The URL and headers exceed 16 KB",
  INTERNAL_ERROR: "Internal server error",
  SERVICE_UNAVAILABLE: "The database is unavailable; retry shortly",
};

function errorExample(
  code: ApiErrorCode,
  field: string | undefined,
): ApiErrorBody & { requestId?: string } {
  if (code === "VALIDATION_ERROR" && field) {
    return {
      code,
      message: ERROR_MESSAGES[code],
      issues: [{ path: field, message: "Invalid input" }],
    };
  }
  if (code === "INTERNAL_ERROR")
    return {
      code,
      message: ERROR_MESSAGES[code],
      requestId: "0f8e4c2a-6b1d-4e7f-9a35-2c7d8e1b5f40",
    };
  return { code, message: ERROR_MESSAGES[code] };
}

/** What an id or a count looks like in the examples, and a time in this decade. */
const EXAMPLE_INTEGER = 123;
const EXAMPLE_TIME = "2026-03-14T09:26:53.000Z";

/**
 * Gives every integer and date-time schema without an example a realistic one: left alone,
 * viewers invent them from the bounds and the pattern (ids of -9007199254740991, years like 7612).
 */
function exemplifyScalars(node: unknown): void {
  if (Array.isArray(node)) {
    for (const item of node) exemplifyScalars(item);
    return;
  }
  if (typeof node !== "object" || node === null) return;
  const schema = node as Record<string, unknown>;
  if (!("example" in schema) && !("examples" in schema)) {
    if (schema.type === "integer") {
      const { minimum = -Infinity, maximum = Infinity } = schema as {
        minimum?: number;
        maximum?: number;
      };
      schema.example = Math.min(Math.max(EXAMPLE_INTEGER, minimum), maximum);
    } else if (schema.type === "string" && schema.format === "date-time") {
      schema.example = EXAMPLE_TIME;
    }
  }
  for (const [key, value] of Object.entries(schema)) {
    // An example is data, not a schema: nothing inside it is filled in.
    if (key !== "example" && key !== "examples") exemplifyScalars(value);
  }
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
