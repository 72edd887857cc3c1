import { describe, expect, it } from "vitest";
import { toAppError } from "../../server/errors/api-errors.ts";
import { createImageProcessor, sniffImageKind } from "../../server/images/processing.ts";
import { codeOf, makeImage, pngBombHeader } from "../helpers/image-fixtures.ts";

describe("sniffImageKind", () => {
  it("reads the signature, nothing else", async () => {
    expect(sniffImageKind(await makeImage("jpeg", 4, 4))).toBe("jpeg");
    expect(sniffImageKind(await makeImage("png", 4, 4))).toBe("png");
    expect(sniffImageKind(await makeImage("webp", 4, 4))).toBe("webp");
    expect(sniffImageKind(Buffer.from("RIFF\0\0\0\0WAVEfmt "))).toBeUndefined();
    expect(sniffImageKind(Buffer.from("GIF89a"))).toBeUndefined();
    expect(sniffImageKind(Buffer.from([0xff, 0xd8]))).toBeUndefined();
    expect(sniffImageKind(new Uint8Array())).toBeUndefined();
  });
});

describe("createImageProcessor", () => {
  it("refuses a header over the pixel limit before decoding", async () => {
    const processor = createImageProcessor({ maxPixels: 1_000_000 });
    expect(await codeOf(processor.reencode(await makeImage("png", 1001, 1000)))).toBe(
      "PAYLOAD_TOO_LARGE",
    );
    expect((await processor.reencode(await makeImage("png", 1000, 1000))).width).toBe(512);
    expect(await codeOf(processor.reencode(pngBombHeader(100_000, 100_000)))).toBe(
      "PAYLOAD_TOO_LARGE",
    );
  });

  it("refuses a file whose signature and data disagree", async () => {
    const processor = createImageProcessor();
    const webp = await makeImage("webp", 8, 8);
    // A JPEG signature in front of WebP data.
    const lying = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), webp]);
    expect(await codeOf(processor.reencode(lying))).toBe("UNSUPPORTED_MEDIA_TYPE");
  });

  it("sheds load past its queue with 503 SERVICE_UNAVAILABLE", async () => {
    const processor = createImageProcessor({ concurrency: 1, maxQueue: 1 });
    const jpeg = await makeImage("jpeg", 1600, 1200);
    const results = await Promise.allSettled([1, 2, 3, 4].map(() => processor.reencode(jpeg)));
    const codes = results.map((r) =>
      r.status === "fulfilled" ? "ok" : toAppError(r.reason).apiCode,
    );
    expect(codes.filter((c) => c === "ok")).toHaveLength(2);
    expect(codes.filter((c) => c === "SERVICE_UNAVAILABLE")).toHaveLength(2);
    expect(processor.limiter.active).toBe(0);
  });

  it("is deterministic: the same upload gives the same bytes and ETag", async () => {
    const processor = createImageProcessor();
    const png = await makeImage("png", 700, 300, { alpha: true });
    const [a, b] = [await processor.reencode(png), await processor.reencode(png)];
    expect(a.webp.etag).toBe(b.webp.etag);
    expect(a.webp.content.equals(b.webp.content)).toBe(true);
    expect(a.fallback.etag).toBe(b.fallback.etag);
    expect(a).toMatchObject({ width: 512, height: 219 });
    expect(a.webp.contentType).toBe("image/webp");
  });
});
