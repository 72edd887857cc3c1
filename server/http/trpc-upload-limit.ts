import { Transform } from "node:stream";
import type { AnyRouter } from "@trpc/server";
import type { FastifyInstance } from "fastify";
import { base64Length } from "../../routers/images/image-schema.ts";
import { uploadProfileImageRoute } from "../../routers/images/upload.ts";
import { authenticate } from "../auth/authenticate.ts";
import { createContext, type Deps } from "../context.ts";
import { AppError } from "../errors/api-errors.ts";
import { requestInfo } from "./rest.ts";
import { proceduresOf } from "./trpc-wire.ts";

const tooLarge = (limit: number) =>
  new AppError("PAYLOAD_TOO_LARGE", `The request body is larger than ${limit} bytes`);

/**
 * Native tRPC callers upload `{imageBase64}` as JSON to the upload procedure
 * (/trpc/images.uploadProfileImage), which the app's bodyLimit (BODY_LIMIT_BYTES, 64 KiB) would
 * refuse. Call it in an encapsulated scope before the tRPC route is added there: that route's
 * limit becomes the base64 of MAX_IMAGE_BYTES, and every other tRPC path (batches included) is
 * held to the app's limit as its body streams; so is every path of a router without the upload.
 * Only a caller with a valid bearer token gets the larger limit: the token is checked before a
 * byte of the body is read, so anonymous megabytes are never read or parsed.
 */
export function allowTrpcImageUploads(scope: FastifyInstance, deps: Deps, router: AnyRouter): void {
  const { config } = deps;
  const { maxBytes } = deps.images.settings;
  const normal = config.BODY_LIMIT_BYTES;
  // base64 of the image, and room for the JSON around it.
  const upload = Math.max(normal, base64Length(maxBytes) + 1024);
  // The one path whose JSON body may exceed the app's bodyLimit (unbatched calls only), named
  // by the router that serves the procedure.
  const uploadPath = pathOf(router, uploadProfileImageRoute);
  const isUpload = (params: unknown) =>
    uploadPath !== undefined && procedureList(params) === uploadPath;

  scope.addHook("onRoute", (route) => {
    route.bodyLimit = upload;
  });
  scope.addHook("onRequest", async (req) => {
    if (!isUpload(req.params)) return;
    // Throws UNAUTHENTICATED, answered in tRPC's shape; the procedure checks again as usual.
    await authenticate(createContext(deps, requestInfo(req)));
  });
  scope.addHook("preParsing", async (req, _reply, payload) => {
    if (isUpload(req.params)) return payload;
    if (Number(req.headers["content-length"]) > normal) throw tooLarge(normal);
    let received = 0;
    return payload.pipe(
      new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          received += chunk.length;
          callback(received > normal ? tooLarge(normal) : null, chunk);
        },
      }),
    );
  });
}

/** The dotted path (`images.uploadProfileImage`) at which `router` serves `procedure`, if it does. */
function pathOf(router: AnyRouter, procedure: unknown): string | undefined {
  return Object.entries(proceduresOf(router)).find(([, candidate]) => candidate === procedure)?.[0];
}

/** The door's procedure list: its route's wildcard (`/trpc/*`). */
const procedureList = (params: unknown): string | undefined => (params as { "*"?: string })["*"];
