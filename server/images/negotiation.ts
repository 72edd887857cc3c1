import type { FallbackType, ProfileImageType } from "./processing.ts";

/**
 * Which stored variant a client gets, from its Accept header (RFC 9110 §12.5.1). Never 406: a
 * client that accepts nothing we have still gets the JPEG/PNG fallback, the reference's format.
 *
 * WebP goes only to a client whose Accept names `image/webp` itself, with q > 0 and at least the
 * q its fallback type gets: `*∕*` or `image/*` alone promise nothing about WebP (curl, older
 * libraries and image viewers send them), so they get JPEG/PNG. Browsers name image/webp.
 */
export type AcceptedImageTypes = {
  /** The q of `image/webp` named explicitly; 0 when not named. */
  webp: number;
  /** The q of each fallback type, by the most specific matching range; 0 when none matches. */
  fallback: Record<FallbackType, number>;
};

type Range = { type: string; q: number };

function parseAccept(header: string): Range[] {
  const ranges: Range[] = [];
  for (const item of header.split(",").slice(0, 50)) {
    const [type = "", ...params] = item.split(";").map((part) => part.trim().toLowerCase());
    if (!type) continue;
    const qParam = params.find((param) => /^q\s*=/.test(param));
    const q = qParam === undefined ? 1 : Number(qParam.replace(/^q\s*=\s*/, ""));
    ranges.push({ type, q: Number.isFinite(q) ? Math.min(Math.max(q, 0), 1) : 0 });
  }
  return ranges;
}

/** The q of a concrete type: the most specific range that matches it decides. */
function qualityOf(ranges: readonly Range[], type: string): number {
  const [major] = type.split("/");
  for (const candidate of [type, `${major}/*`, "*/*"]) {
    const range = ranges.find((r) => r.type === candidate);
    if (range) return range.q;
  }
  return 0;
}

export function acceptedImageTypes(header: string | undefined): AcceptedImageTypes {
  const ranges = parseAccept(header ?? "");
  const webp = ranges.find((r) => r.type === "image/webp")?.q ?? 0;
  return {
    webp,
    fallback: {
      "image/jpeg": qualityOf(ranges, "image/jpeg"),
      "image/png": qualityOf(ranges, "image/png"),
    },
  };
}

/** The accepted types of a native caller's list: each one named, q = 1. */
export function acceptedFromList(
  types: readonly ProfileImageType[] | undefined,
): AcceptedImageTypes {
  const named = (type: ProfileImageType) => (types?.includes(type) ? 1 : 0);
  return {
    webp: named("image/webp"),
    fallback: { "image/jpeg": named("image/jpeg"), "image/png": named("image/png") },
  };
}

/** WebP when accepted at least as well as the image's fallback; on a tie WebP, being smaller. */
export function prefersWebp(accepted: AcceptedImageTypes, fallbackType: FallbackType): boolean {
  return accepted.webp > 0 && accepted.webp >= accepted.fallback[fallbackType];
}
