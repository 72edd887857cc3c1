import multipart from "@fastify/multipart";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { IMAGE_PATHS, toProfileImageUpload } from "../../routers/images/image-schema.ts";
import { ZId } from "../../routers/shared-schema.ts";
import { authenticate } from "../auth/authenticate.ts";
import { createContext, type Deps } from "../context.ts";
import { AppError } from "../errors/api-errors.ts";
import { acceptedImageTypes } from "../images/negotiation.ts";
import { loadProfileImage, quotedEtag, storeProfileImage } from "../images/profile-image.ts";
import { type RestRoute, requestInfo, restUrl, routePattern } from "./rest.ts";

/**
 * The REST door for what JSON cannot carry: the multipart upload and the image bytes. Each route
 * parses the request, then calls the library (server/images/) the image procedures
 * (routers/images/) call too, at the paths and with the answers those procedures declare.
 * Multipart parsing is registered in this plugin's own scope, so the JSON routes never see it.
 * Returns the routes in registerRestRoutes' shape, for the 405 `Allow` answer.
 */
export async function registerImageRoutes(app: FastifyInstance, deps: Deps): Promise<RestRoute[]> {
  const { maxBytes } = deps.images.settings;
  const self = restUrl(IMAGE_PATHS.mine);
  const byId = restUrl(IMAGE_PATHS.ofUser);

  await app.register(async (scope) => {
    await scope.register(multipart, {
      // Explicit: the plugin's defaults ignore Fastify's bodyLimit (1000 parts, unlimited fields).
      limits: {
        fileSize: maxBytes,
        files: 1,
        fields: 4,
        parts: 5,
        fieldNameSize: 100,
        fieldSize: 1024,
        headerPairs: 20,
      },
      throwFileSizeLimit: true,
    });

    // The upload's token is checked before its body is read (onRequest), so an anonymous upload
    // of megabytes is refused without reading it; the handler then acts as that caller.
    scope.addHook("onRequest", async (req) => {
      if (req.method !== "POST" || req.routeOptions.url !== self) return;
      await authenticate(createContext(deps, requestInfo(req)));
    });

    scope.post(self, async (req, reply) => {
      const ctx = createContext(deps, requestInfo(req));
      const caller = await authenticate(ctx);
      const bytes = await readOneFile(req, maxBytes);
      const stored = await storeProfileImage(ctx, caller, bytes);
      reply.code(200);
      return toProfileImageUpload(deps.config, stored);
    });

    scope.get(self, (req, reply) => serveImage(req, reply, "self"));

    scope.get(byId, (req, reply) => {
      const raw = (req.params as { id: string }).id;
      const id = ZId.safeParse(/^\d{1,10}$/.test(raw) ? Number(raw) : Number.NaN);
      if (!id.success) {
        throw new AppError("VALIDATION_ERROR", "The id must be a positive integer", {
          issues: [{ path: "id", message: "Expected a positive integer" }],
        });
      }
      return serveImage(req, reply, { id: id.data });
    });
  });

  return [
    { method: "POST", pattern: routePattern(self) },
    { method: "GET", pattern: routePattern(self) },
    { method: "GET", pattern: routePattern(byId) },
  ];

  async function serveImage(
    req: FastifyRequest,
    reply: FastifyReply,
    target: "self" | { id: number },
  ): Promise<FastifyReply> {
    const ctx = createContext(deps, requestInfo(req));
    const caller = await authenticate(ctx);
    const known = ifNoneMatch(req.headers["if-none-match"]);
    const image = await loadProfileImage(ctx, caller, target, {
      accepted: acceptedImageTypes(req.headers.accept),
      withContent: known !== "*",
      unlessEtagIn: known === "*" ? [] : known,
    });
    // The answer depends on who asks and what they accept (WebP or JPEG/PNG, each variant its own
    // ETag): private caches only, keyed by the token and the Accept header too.
    const vary = reply.getHeader("vary");
    reply
      .header("ETag", quotedEtag(image.etag))
      .header("Cache-Control", "private, max-age=300")
      .header("Vary", vary ? `${vary}, Accept, Authorization` : "Accept, Authorization")
      .header("X-Content-Type-Options", "nosniff");
    // No content back means the stored ETag is one the client already has.
    if (!image.content) return reply.code(304).send();
    return reply
      .code(200)
      .header("Content-Type", image.contentType)
      .header("Content-Length", image.content.byteLength)
      .send(image.content);
  }
}

/**
 * The one file part of a multipart body: 400 for no file, a second file or any other field,
 * 413 past the size limit (nothing is stored: the limit stops the read), 415 for no multipart.
 */
async function readOneFile(req: FastifyRequest, maxBytes: number): Promise<Buffer> {
  if (!req.isMultipart()) {
    throw new AppError(
      "UNSUPPORTED_MEDIA_TYPE",
      "Send the image as multipart/form-data with one file part named 'image'",
    );
  }
  let file: Buffer | undefined;
  try {
    for await (const part of req.parts()) {
      if (part.type === "field") {
        throw new AppError("VALIDATION_ERROR", `Unexpected field '${part.fieldname}'`, {
          issues: [{ path: part.fieldname, message: "Only one file part is accepted" }],
        });
      }
      file = await part.toBuffer();
    }
  } catch (error) {
    throw multipartError(error, maxBytes);
  }
  if (!file || file.byteLength === 0) {
    throw new AppError("VALIDATION_ERROR", "Send one image file (a file part named 'image')", {
      issues: [{ path: "image", message: "Required" }],
    });
  }
  return file;
}

const MULTIPART_ERRORS: Record<string, (maxBytes: number) => AppError> = {
  FST_REQ_FILE_TOO_LARGE: (maxBytes) =>
    new AppError("PAYLOAD_TOO_LARGE", `The image file is larger than ${maxBytes} bytes`),
  FST_FILES_LIMIT: () =>
    new AppError("VALIDATION_ERROR", "Send exactly one file", {
      issues: [{ path: "image", message: "Only one file is accepted" }],
    }),
  FST_PARTS_LIMIT: () => new AppError("VALIDATION_ERROR", "Too many parts in the form"),
  FST_FIELDS_LIMIT: () => new AppError("VALIDATION_ERROR", "Too many fields in the form"),
};

/** What goes wrong while reading a multipart body is the client's: a 400 unless it is a 413. */
function multipartError(error: unknown, maxBytes: number): AppError {
  if (error instanceof AppError) return error;
  const code = (error as { code?: unknown }).code;
  const known = typeof code === "string" ? MULTIPART_ERRORS[code] : undefined;
  if (known) return known(maxBytes);
  return new AppError("VALIDATION_ERROR", "Malformed multipart body", { cause: error });
}

/** The entity-tags of If-None-Match, unquoted and without W/ (weak comparison, RFC 9110). */
function ifNoneMatch(header: string | undefined): string[] | "*" {
  if (!header) return [];
  if (header.trim() === "*") return "*";
  const tags: string[] = [];
  for (const match of header.matchAll(/(?:W\/)?"([A-Za-z0-9_-]{1,100})"/g)) {
    if (match[1] && tags.length < 20) tags.push(match[1]);
  }
  return tags;
}
