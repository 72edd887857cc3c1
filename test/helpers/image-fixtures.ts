import { crc32, deflateSync } from "node:zlib";
import sharp from "sharp";
import { toAppError } from "../../server/errors/api-errors.ts";

/** A noisy photo-like picture, so encoders have real work to do. */
export async function makeImage(
  format: "jpeg" | "png" | "webp",
  width: number,
  height: number,
  options: { exifDescription?: string; orientation?: number; alpha?: boolean } = {},
): Promise<Buffer> {
  const channels = options.alpha ? 4 : 3;
  let image = sharp({
    create: {
      width,
      height,
      channels,
      background: { r: 40, g: 120, b: 200, alpha: options.alpha ? 0.5 : 1 },
      noise: { type: "gaussian", mean: 128, sigma: 30 },
    },
  });
  if (options.exifDescription || options.orientation) {
    image = image.withMetadata({
      ...(options.orientation && { orientation: options.orientation }),
      ...(options.exifDescription && {
        exif: { IFD0: { ImageDescription: options.exifDescription } },
      }),
    });
  }
  return image.toFormat(format).toBuffer();
}

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, "latin1"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** A valid PNG header announcing width×height RGB pixels, with a tiny IDAT: a decompression bomb. */
export function pngBombHeader(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk("IHDR", ihdr),
    pngChunk("IDAT", deflateSync(Buffer.alloc(1024))),
    pngChunk("IEND", Buffer.alloc(0)),
  ]);
}

export type Part = {
  name: string;
  data: Uint8Array | string;
  /** A file part when given (the declared type, which the server must ignore). */
  filename?: string;
  contentType?: string;
};

/** A multipart/form-data body, serialised by the platform (FormData through a Response). */
export async function multipart(
  parts: Part[],
): Promise<{ payload: Buffer; headers: { "content-type": string } }> {
  const form = new FormData();
  for (const part of parts) {
    if (part.filename === undefined && typeof part.data === "string") {
      form.append(part.name, part.data);
    } else {
      const blob = new Blob([part.data], {
        type: part.contentType ?? "application/octet-stream",
      });
      form.append(part.name, blob, part.filename ?? "upload.bin");
    }
  }
  const response = new Response(form);
  return {
    payload: Buffer.from(await response.arrayBuffer()),
    headers: { "content-type": response.headers.get("content-type") as string },
  };
}

/** The one file part named `image`, as a browser would send it. */
export const imagePart = (
  data: Uint8Array | string,
  contentType = "image/png",
  filename = "me.png",
) => multipart([{ name: "image", data, filename, contentType }]);

/** The API's error code of what a call threw. */
export async function codeOf(call: Promise<unknown>): Promise<string> {
  try {
    await call;
  } catch (error) {
    return toAppError(error).apiCode;
  }
  throw new Error("expected the call to fail");
}
