import { createHash } from "node:crypto";
import type { Metadata, OutputInfo } from "sharp";
import type { Config } from "../config.ts";
import { AppError } from "../errors/api-errors.ts";
import { createLimiter, type Limiter } from "../limits/limiter.ts";

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

/**
 * Every image is stored twice, both derived once at upload: WebP (smaller, for clients whose
 * Accept names it) and the reference's "JPEG/PNG" fallback for everyone else — PNG when the image
 * has transparency, JPEG otherwise. The box every image is fitted into.
 */
export const WEBP_TYPE = "image/webp";
export const FALLBACK_TYPES = ["image/jpeg", "image/png"] as const;
export const PROFILE_IMAGE_TYPES = [WEBP_TYPE, ...FALLBACK_TYPES] as const;
export const PROFILE_IMAGE_SIZE = 512;
const WEBP_QUALITY = 80;
const JPEG_QUALITY = 85;

export type ImageKind = "jpeg" | "png" | "webp";
export type FallbackType = (typeof FALLBACK_TYPES)[number];
export type ProfileImageType = (typeof PROFILE_IMAGE_TYPES)[number];

export type EncodedVariant<T extends ProfileImageType = ProfileImageType> = {
  content: Buffer;
  contentType: T;
  /** Hash of the content (base64url SHA-256), unquoted: a distinct strong ETag per variant. */
  etag: string;
};

export type ReencodedImage = {
  width: number;
  height: number;
  webp: EncodedVariant<typeof WEBP_TYPE>;
  fallback: EncodedVariant<FallbackType>;
};

export type ImageProcessor = {
  readonly settings: Readonly<ImageSettings>;
  readonly limiter: Limiter;
  /**
   * Judges the bytes (signature, header dimensions, a full decode) and re-encodes them: oriented
   * by EXIF, fitted inside 512×512, every metadata block dropped, encoded as WebP and as the
   * JPEG/PNG fallback from one decode. Throws PAYLOAD_TOO_LARGE
   * (bytes or pixels over the limit), UNSUPPORTED_MEDIA_TYPE (not a decodable JPEG, PNG or WebP)
   * or SERVICE_UNAVAILABLE (too many images waiting).
   */
  reencode(bytes: Uint8Array): Promise<ReencodedImage>;
  /**
   * The fallback of an image stored as WebP alone (stored before fallbacks existed): derived
   * once, from the service's own bytes, when a client first needs it. SERVICE_UNAVAILABLE as above.
   */
  deriveFallback(webp: Uint8Array): Promise<EncodedVariant<FallbackType>>;
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
  // sharp (libvips) is loaded at the first upload: ~17 MiB a process that never sees one keeps.
  let loadedSharp: Promise<Sharp> | undefined;
  const loadSharp = () => {
    loadedSharp ??= import("sharp").then(({ default: sharp }) => {
      // Every upload is a new image: libvips' operation cache would only hold on to memory.
      sharp.cache(false);
      return sharp;
    });
    return loadedSharp;
  };

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

    // Decoding and both encodings hold one slot.
    return limiter.run(async () => {
      let decoded: { data: Buffer; info: OutputInfo };
      try {
        decoded = await sharp(bytes, {
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
          // Decoded once to 8-bit pixels; both variants are encoded from them.
          .raw({ depth: "uchar" })
          .toBuffer({ resolveWithObject: true });
      } catch (error) {
        throw notAnImage("the image data could not be decoded", error);
      }
      const { data, info } = decoded;
      const pixels = { data, ...info } as Pixels;
      const [webp, fallback] = await Promise.all([
        encodeWebp(sharp, pixels),
        encodeFallback(sharp, pixels),
      ]);
      return { width: info.width, height: info.height, webp, fallback };
    });
  }

  async function deriveFallback(webp: Uint8Array): Promise<EncodedVariant<FallbackType>> {
    const sharp = await loadSharp();
    return limiter.run(async () => {
      const { data, info } = await sharp(webp)
        .raw({ depth: "uchar" })
        .toBuffer({ resolveWithObject: true });
      return encodeFallback(sharp, { data, ...info } as Pixels);
    });
  }

  return { settings, limiter, reencode, deriveFallback };
}

type Sharp = typeof import("sharp").default;
type Pixels = { data: Buffer; width: number; height: number; channels: 1 | 2 | 3 | 4 };

const hasAlphaChannel = (pixels: Pixels) => pixels.channels === 2 || pixels.channels === 4;

/** An alpha channel that is not opaque everywhere: what makes the fallback PNG, not JPEG. */
function isTransparent(pixels: Pixels): boolean {
  if (!hasAlphaChannel(pixels)) return false;
  const { data, channels } = pixels;
  for (let i = channels - 1; i < data.length; i += channels) if (data[i] !== 255) return true;
  return false;
}

/** The pixels as sharp input, without an alpha channel that carries nothing. */
function fromPixels(sharp: Sharp, pixels: Pixels) {
  const { data, width, height, channels } = pixels;
  const image = sharp(data, { raw: { width, height, channels } });
  return hasAlphaChannel(pixels) && !isTransparent(pixels) ? image.removeAlpha() : image;
}

const withEtag = <T extends ProfileImageType>(content: Buffer, contentType: T) => ({
  content,
  contentType,
  etag: createHash("sha256").update(content).digest("base64url"),
});

async function encodeWebp(sharp: Sharp, pixels: Pixels) {
  const content = await fromPixels(sharp, pixels).webp({ quality: WEBP_QUALITY }).toBuffer();
  return withEtag(content, WEBP_TYPE);
}

async function encodeFallback(sharp: Sharp, pixels: Pixels) {
  const image = fromPixels(sharp, pixels);
  return isTransparent(pixels)
    ? withEtag(await image.png({ compressionLevel: 9 }).toBuffer(), "image/png" as const)
    : withEtag(await image.jpeg({ quality: JPEG_QUALITY }).toBuffer(), "image/jpeg" as const);
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
