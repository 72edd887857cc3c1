import type { OpenAPIObject } from "trpc-to-openapi";
import { IMAGE_PATHS } from "../../routers/images/image-schema.ts";
import {
  DEFAULT_IMAGE_SETTINGS,
  type ImageSettings,
  PROFILE_IMAGE_TYPES,
} from "../images/processing.ts";

type Operation = {
  parameters?: Array<{ in?: string; name?: string }>;
  requestBody?: unknown;
  responses?: Record<string, unknown>;
  [key: string]: unknown;
};

const UPLOAD = { path: IMAGE_PATHS.mine, method: "post" } as const;
const GETS = [
  { path: IMAGE_PATHS.mine, method: "get" },
  { path: IMAGE_PATHS.ofUser, method: "get" },
] as const;

/** The 400s the thin routes answer themselves (image-routes.ts), not the procedures' input's. */
const ROUTE_VALIDATION: Record<string, { message: string; issues?: object[] }> = {
  [`post ${UPLOAD.path}`]: {
    message: "Send one image file (a file part named 'image')",
    issues: [{ path: "image", message: "Required" }],
  },
  "get /users/profile/image": { message: "Input failed validation" },
  "get /users/{id}/profile/image": {
    message: "The id must be a positive integer",
    issues: [{ path: "id", message: "Expected a positive integer" }],
  },
};

const binary = { type: "string", format: "binary" };

const cachingHeaders = {
  ETag: {
    description:
      "Strong, quoted: a hash of the bytes, so each variant (WebP, JPEG, PNG) has its own",
    schema: { type: "string", example: '"3q2-7wEjRWeJq83vASNFZ4mrze8BI0VniavN7wEjRWc"' },
  },
  "Cache-Control": { schema: { type: "string", example: "private, max-age=300" } },
  "X-Content-Type-Options": { schema: { type: "string", example: "nosniff" } },
  Vary: { schema: { type: "string", example: "Accept, Authorization" } },
};

/**
 * The image operations, as their thin routes (server/http/image-routes.ts) really serve them:
 * trpc-to-openapi documents the procedures' JSON, so the upload's body becomes
 * `multipart/form-data` with a binary `image`, and the GETs answer with image bytes and 304.
 * Call it on the finished document; operations it does not find are left alone.
 */
export function documentImageRoutes(
  document: OpenAPIObject,
  limits: Pick<ImageSettings, "maxBytes" | "maxPixels"> = DEFAULT_IMAGE_SETTINGS,
): OpenAPIObject {
  const operation = (path: string, method: string) =>
    (document.paths?.[path] as Record<string, Operation> | undefined)?.[method];

  const upload = operation(UPLOAD.path, UPLOAD.method);
  if (upload) {
    upload.requestBody = {
      required: true,
      content: {
        "multipart/form-data": {
          schema: {
            type: "object",
            properties: {
              image: {
                ...binary,
                contentMediaType: "application/octet-stream",
                description: `One JPEG, PNG or WebP file, judged by its bytes; at most ${limits.maxBytes / 1024 / 1024} MiB and ${limits.maxPixels / 1e6} megapixels`,
              },
            },
            required: ["image"],
            additionalProperties: false,
          },
          encoding: { image: { contentType: "image/jpeg, image/png, image/webp" } },
        },
      },
    };
  }

  for (const { path, method } of GETS) {
    const get = operation(path, method);
    if (!get?.responses) continue;
    // `withData` and `accept` are for native tRPC callers; the REST GET always sends the bytes
    // and negotiates by the Accept header.
    get.parameters = [
      ...(get.parameters ?? []).filter(
        (p) => !(p.in === "query" && (p.name === "withData" || p.name === "accept")),
      ),
      {
        in: "header",
        name: "Accept",
        required: false,
        description:
          "WebP only when `image/webp` is named with q > 0 (and not below the fallback's q); otherwise JPEG, or PNG for an image with transparency. `*/*` or `image/*` alone get JPEG/PNG. Never 406.",
        schema: { type: "string", example: "image/webp, image/jpeg, image/png" },
      } as { in: string; name: string },
      {
        in: "header",
        name: "If-None-Match",
        required: false,
        description: "An ETag from an earlier response: 304 when the image is unchanged",
        schema: { type: "string" },
      } as { in: string; name: string },
    ];
    const { 200: _json, ...errors } = get.responses;
    get.responses = {
      200: {
        description:
          "The image bytes, at most 512×512, no metadata: WebP to clients whose Accept names it, else JPEG (PNG when the image has transparency)",
        headers: cachingHeaders,
        content: Object.fromEntries(PROFILE_IMAGE_TYPES.map((type) => [type, { schema: binary }])),
      },
      304: {
        description: "Not modified: the If-None-Match ETag is current",
        headers: cachingHeaders,
      },
      ...errors,
    };
  }

  for (const [route, body] of Object.entries(ROUTE_VALIDATION)) {
    const [method = "", path = ""] = route.split(" ");
    const examples = (
      operation(path, method)?.responses?.[400] as
        | { content?: Record<string, { examples?: Record<string, { value: unknown }> }> }
        | undefined
    )?.content?.["application/json"]?.examples;
    if (examples?.VALIDATION_ERROR)
      examples.VALIDATION_ERROR = { value: { code: "VALIDATION_ERROR", ...body } };
  }

  dropUnreferencedSchema(document, "ProfileImage");
  return document;
}

/** The native-only output schema has no REST operation left once the GETs serve bytes. */
function dropUnreferencedSchema(document: OpenAPIObject, name: string) {
  const schemas = document.components?.schemas;
  if (!schemas?.[name]) return;
  const { [name]: _schema, ...others } = schemas;
  const text = JSON.stringify({ paths: document.paths, others });
  if (!text.includes(`"#/components/schemas/${name}"`)) delete schemas[name];
}
