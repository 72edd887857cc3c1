import { describe, expect, it } from "vitest";
import {
  acceptedFromList,
  acceptedImageTypes,
  prefersWebp,
} from "../../server/images/negotiation.ts";

const webpFor = (accept: string | undefined, fallback: "image/jpeg" | "image/png" = "image/jpeg") =>
  prefersWebp(acceptedImageTypes(accept), fallback);

describe("image content negotiation", () => {
  it("gives WebP only to an Accept that names it, with q > 0 and not below the fallback's", () => {
    expect(webpFor("image/webp")).toBe(true);
    expect(webpFor("IMAGE/WEBP ; Q=0.8, image/jpeg;q=0.8")).toBe(true);
    expect(webpFor("image/webp;q=0.5, image/jpeg;q=0.5")).toBe(true);
    expect(webpFor("image/webp;q=0.4, image/jpeg;q=0.5")).toBe(false);
    expect(webpFor("image/webp;q=0.4, image/png;q=0.5", "image/png")).toBe(false);
    expect(webpFor("image/webp;q=0.4, image/png;q=0.5", "image/jpeg")).toBe(true);
    expect(webpFor("image/webp;q=0.9, image/*;q=1")).toBe(false);
    expect(webpFor("image/webp;q=0")).toBe(false);
    expect(webpFor("image/webp;q=nonsense")).toBe(false);
  });

  it("does not take */* or image/* as a promise to decode WebP", () => {
    for (const accept of [undefined, "", "*/*", "image/*", "image/*, */*;q=0.1", ",,;"]) {
      expect(webpFor(accept), `${accept}`).toBe(false);
    }
  });

  it("reads a native caller's list: WebP only when listed", () => {
    expect(prefersWebp(acceptedFromList(undefined), "image/jpeg")).toBe(false);
    expect(prefersWebp(acceptedFromList(["image/png"]), "image/png")).toBe(false);
    expect(prefersWebp(acceptedFromList(["image/jpeg", "image/webp"]), "image/jpeg")).toBe(true);
  });
});
