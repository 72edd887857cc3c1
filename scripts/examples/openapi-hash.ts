import { createHash } from "node:crypto";

/**
 * The hash of an OpenAPI document's content (parsed and re-serialised, so formatting does not
 * count) that the generated client types record, to tell when they are stale.
 */
export const openApiHash = (json: string): string =>
  createHash("sha256")
    .update(JSON.stringify(JSON.parse(json)))
    .digest("hex");
