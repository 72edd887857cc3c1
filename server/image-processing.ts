import { createHash } from "node:crypto";
import type { Metadata } from "sharp";
import type { Config } from "./config.ts";
import { AppError } from "./errors.ts";
import { createLimiter, type Limiter } from "./limiter.ts";

export type ImageSettings = {
  /** Largest upload accepted, in bytes (MAX_IMAGE_BYTES). */
  maxBytes: number;
  /** Largest width × height decoded (IMAGE_MAX_PIXELS); refused from the header, before decoding. */
  maxPixels: number;
  /** Images decoded and encoded at once (IMAGE_CONCURRENCY). */
  concurrency: number;
  /** Uploads allowed to wait for a slot; one more gets 503 (IMAGE_MAX_QUEUE). */
  maxQueue: number;
};

export const DEFAULT_IMAGE_SETTINGS: Readonly<ImageSettings> = Object.freeze({
  maxBytes: 5 * 1024 * 1024,
  maxPixels: 40_000_000,
  concurrency: 2,
  maxQueue: 32,
});

/** The highest MAX_IMAGE_BYTES may be set to; it bounds the native door's base64 input schema. */
export const MAX_IMAGE_BYTES_CEILING = 20 * 1024 * 1024;

/** The one stored and served format, and the box every image is fitted into. */
export const PROFILE_IMAGE_TYPE = "image/webp";
export const PROFILE_IMAGE_SIZE = 512;
const WEBP_QUALITY = 80;

export type ImageKind = "jpeg" | "png" | "webp";

export type ReencodedImage = {
  content: Buffer;
  contentType: typeof PROFILE_IMAGE_TYPE;
  width: number;
  height: number;
  /** Hash of the content (base64url SHA-256), unquoted. */
  etag: string;
};

export type ImageProcessor = {
  readonly settings: Readonly<ImageSettings>;
  readonly limiter: Limiter;
  /**
   * Judges the bytes (signature, header dimensions, a full decode) and re-encodes them: oriented
   * by EXIF, fitted inside 512×512, every metadata block dropped, WebP. Throws PAYLOAD_TOO_LARGE
   * (bytes or pixels over the limit), UNSUPPORTED_MEDIA_TYPE (not a decodable JPEG, PNG or WebP)
   * or SERVICE_UNAVAILABLE (too many images waiting).
   */
  reencode(bytes: Uint8Array): Promise<ReencodedImage>;
};

/** sharp (libvips) is loaded at the first upload: ~17 MiB a process that never sees one keeps. */
let loadedSharp: Promise<typeof import("sharp").default> | undefined;
const loadSharp = () => {
  loadedSharp ??= import("sharp").then(({ default: sharp }) => {
    // Every upload is a new image: libvips' operation cache would only hold on to memory.
    sharp.cache(false);
    return sharp;
  });
  return loadedSharp;
};

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

const startsWith = (bytes: Uint8Array, signature: readonly number[], at = 0) =>
  bytes.length >= at + signature.length && signature.every((byte, i) => bytes[at + i] === byte);

const ascii = (text: string) => [...text].map((char) => char.charCodeAt(0));

/** The format the first bytes announce; the declared type and file name are never looked at. */
export function sniffImageKind(bytes: Uint8Array): ImageKind | undefined {
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return "jpeg";
  if (startsWith(bytes, PNG_SIGNATURE)) return "png";
  if (startsWith(bytes, ascii("RIFF")) && startsWith(bytes, ascii("WEBP"), 8)) return "webp";
  return undefined;
}

const notAnImage = (detail: string, cause?: unknown) =>
  new AppError("UNSUPPORTED_MEDIA_TYPE", `The upload is not a JPEG, PNG or WebP image: ${detail}`, {
    cause,
  });

export function createImageProcessor(overrides: Partial<ImageSettings> = {}): ImageProcessor {
  const settings = Object.freeze({ ...DEFAULT_IMAGE_SETTINGS, ...overrides });
  if (settings.maxBytes > MAX_IMAGE_BYTES_CEILING) {
    throw new RangeError(`maxBytes must be at most ${MAX_IMAGE_BYTES_CEILING}`);
  }
  const limiter = createLimiter({
    concurrency: settings.concurrency,
    maxQueue: settings.maxQueue,
  });

  async function reencode(bytes: Uint8Array): Promise<ReencodedImage> {
    if (bytes.byteLength > settings.maxBytes) {
      throw new AppError(
        "PAYLOAD_TOO_LARGE",
        `The image is larger than ${settings.maxBytes} bytes`,
      );
    }
    const kind = sniffImageKind(bytes);
    if (!kind) throw notAnImage("unrecognised signature");

    // The header alone: dimensions are checked before a single pixel is decoded, so a small
    // file announcing 40000×40000 is refused at once, without the allocation.
    const sharp = await loadSharp();
    let header: Metadata;
    try {
      header = await sharp(bytes, { limitInputPixels: false }).metadata();
    } catch (error) {
      throw notAnImage("unreadable header", error);
    }
    if (header.format !== kind) throw notAnImage(`the signature says ${kind}, the data does not`);
    const { width, height } = header;
    if (!width || !height) throw notAnImage("no dimensions");
    if (width * height > settings.maxPixels) {
      throw new AppError(
        "PAYLOAD_TOO_LARGE",
        `The image has ${width}×${height} pixels; at most ${settings.maxPixels / 1e6} megapixels are accepted`,
      );
    }

    const { data, info } = await limiter.run(async () => {
      try {
        return await sharp(bytes, {
          // Truncated or corrupt pixel data is refused, not served half grey.
          failOn: "error",
          limitInputPixels: settings.maxPixels,
          sequentialRead: true,
        })
          .rotate() // by EXIF Orientation, before the tag is dropped with the rest
          .resize({
            width: PROFILE_IMAGE_SIZE,
            height: PROFILE_IMAGE_SIZE,
            fit: "inside",
            withoutEnlargement: true,
          })
          .webp({ quality: WEBP_QUALITY })
          .toBuffer({ resolveWithObject: true });
      } catch (error) {
        throw notAnImage("the image data could not be decoded", error);
      }
    });
    return {
      content: data,
      contentType: PROFILE_IMAGE_TYPE,
      width: info.width,
      height: info.height,
      etag: createHash("sha256").update(data).digest("base64url"),
    };
  }

  return { settings, limiter, reencode };
}

export function imageSettingsFrom(config: ImageConfig): ImageSettings {
  return {
    maxBytes: config.MAX_IMAGE_BYTES,
    maxPixels: config.IMAGE_MAX_PIXELS,
    concurrency: config.IMAGE_CONCURRENCY,
    maxQueue: config.IMAGE_MAX_QUEUE,
  };
}

type ImageConfig = Pick<
  Config,
  "MAX_IMAGE_BYTES" | "IMAGE_MAX_PIXELS" | "IMAGE_CONCURRENCY" | "IMAGE_MAX_QUEUE"
>;

const processors = new WeakMap<object, ImageProcessor>();

/**
 * The processor of the service built from this config: one limiter shared by the tRPC procedure
 * and the multipart route, and one per app in tests (each has its own config object).
 */
export function imageProcessorFor(config: ImageConfig): ImageProcessor {
  let processor = processors.get(config);
  if (!processor) {
    processor = createImageProcessor(imageSettingsFrom(config));
    processors.set(config, processor);
  }
  return processor;
}
