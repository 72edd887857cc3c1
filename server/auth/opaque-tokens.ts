import { createHash, randomBytes } from "node:crypto";

/** A random 256-bit token for refresh and mail links; only its hash is ever stored. */
export const randomToken = (): string => randomBytes(32).toString("base64url");

export const hashToken = (token: string): string =>
  createHash("sha256").update(token).digest("base64url");
