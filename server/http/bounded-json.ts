import { AppError } from "../errors/api-errors.ts";

const OPEN_ARRAY = 0x5b; // [
const OPEN_OBJECT = 0x7b; // {
const CLOSE_ARRAY = 0x5d; // ]
const CLOSE_OBJECT = 0x7d; // }
const QUOTE = 0x22; // "
const BACKSLASH = 0x5c; // \

const tooDeep = (maxDepth: number) =>
  new AppError("VALIDATION_ERROR", `Malformed request: JSON nests deeper than ${maxDepth} levels`);

/**
 * Refuses JSON text that nests arrays or objects deeper than `maxDepth`, in one pass over its
 * characters that builds nothing: brackets inside strings do not count. A few megabytes of `[`
 * would otherwise be turned into millions of arrays by JSON.parse, stalling the event loop for
 * seconds. Malformed text passes here and fails in the parser.
 */
export function assertJsonDepth(text: string, maxDepth: number): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) {
      inString = true;
    } else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      if (++depth > maxDepth) throw tooDeep(maxDepth);
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) {
      depth--;
    }
  }
}

/** JSON.parse for untrusted text: depth-bounded first, and a syntax error is a VALIDATION_ERROR. */
export function parseBoundedJson(text: string, maxDepth: number): unknown {
  assertJsonDepth(text, maxDepth);
  try {
    return JSON.parse(text);
  } catch {
    throw new AppError("VALIDATION_ERROR", "Malformed request: not valid JSON");
  }
}
