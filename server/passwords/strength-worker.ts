import { parentPort, workerData } from "node:worker_threads";
import zxcvbn from "zxcvbn";
import { getBlocklist, isBlocklisted } from "./blocklist.ts";

// The CPU-heavy half of the password policy (blocklist set, zxcvbn scoring), run in one
// long-lived worker thread that policy.ts starts. Nothing here touches the main thread.

/** Marks the worker's `workerData`, so importing this file anywhere else wires nothing. */
export const STRENGTH_WORKER_ROLE = "password-strength";

export type StrengthRequest = {
  id: number;
  /** NFKC-normalised, already within the length bounds. */
  password: string;
  userInputs: string[];
  /** False when a cheaper rule has already failed: only the blocklist is consulted. */
  score: boolean;
};

export type StrengthResult = {
  blocklisted: boolean;
  /** zxcvbn score 0–4, or null when not scored. */
  score: number | null;
  /** zxcvbn's feedback warning for a weak password ("" when it has none). */
  warning: string;
};

export type StrengthMessage =
  | { type: "ready" }
  | ({ type: "result"; id: number } & StrengthResult)
  | { type: "error"; id: number; message: string };

/** zxcvbn's cost grows faster than linearly with length: score at most this many code points first. */
export const SCORED_PREFIX = 64;

export function assessStrength(request: Omit<StrengthRequest, "id">): StrengthResult {
  if (isBlocklisted(request.password)) return { blocklisted: true, score: null, warning: "" };
  if (!request.score) return { blocklisted: false, score: null, warning: "" };
  const codePoints = Array.from(request.password);
  const prefix =
    codePoints.length > SCORED_PREFIX
      ? codePoints.slice(0, SCORED_PREFIX).join("")
      : request.password;
  let result = zxcvbn(prefix, request.userInputs);
  // A strong prefix makes a strong whole; only a weak one needs the full (slower) estimate.
  if (result.score < 3 && prefix !== request.password) {
    result = zxcvbn(request.password, request.userInputs);
  }
  return { blocklisted: false, score: result.score, warning: result.feedback.warning };
}

const port = parentPort;
if (port && (workerData as { role?: unknown } | null)?.role === STRENGTH_WORKER_ROLE) {
  port.on("message", (request: StrengthRequest) => {
    let reply: StrengthMessage;
    try {
      reply = { type: "result", id: request.id, ...assessStrength(request) };
    } catch (error) {
      reply = { type: "error", id: request.id, message: String(error) };
    }
    port.postMessage(reply);
  });
  // Pay for the set and zxcvbn's dictionaries now, before the first request arrives.
  getBlocklist();
  zxcvbn("warm-up");
  port.postMessage({ type: "ready" } satisfies StrengthMessage);
}
