import http from "node:http";
import https from "node:https";
import type { LookupFunction } from "node:net";
import { resolveTarget, type TargetPolicy } from "./target.ts";

export type SendLimits = {
  /** From the start until the connection (and TLS) is up. */
  connectTimeoutMs: number;
  /** From the start until the whole response is read. */
  responseTimeoutMs: number;
  /** Response bytes read at most (the rest is dropped; the status decides). */
  maxResponseBytes: number;
};

export const DEFAULT_SEND_LIMITS: SendLimits = {
  connectTimeoutMs: 5000,
  responseTimeoutMs: 15_000,
  maxResponseBytes: 64 * 1024,
};

export type SendResult = { statusCode: number } | { statusCode: null; error: string };

/**
 * POSTs a webhook. The host is resolved and checked here (resolveTarget) and the connection goes
 * to that very address (the `lookup` handed to Node answers with it), so nothing resolves the
 * name a second time; TLS still verifies the certificate for the name. Redirects are not
 * followed (a 3xx is a failure), and every step is bounded in time and size.
 */
export async function sendWebhook(
  url: URL,
  headers: Record<string, string>,
  body: string,
  policy: TargetPolicy,
  limits: SendLimits = DEFAULT_SEND_LIMITS,
): Promise<SendResult> {
  let target: { address: string; family: 4 | 6 };
  try {
    target = await resolveTarget(url, policy);
  } catch (error) {
    return { statusCode: null, error: (error as Error).message };
  }
  const pinned: LookupFunction = (_hostname, options, callback) => {
    if ((options as { all?: boolean }).all) {
      (callback as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [
        target,
      ]);
    } else callback(null, target.address, target.family);
  };
  const client = url.protocol === "https:" ? https : http;
  return new Promise<SendResult>((resolve) => {
    let settled = false;
    const finish = (result: SendResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(connectTimer);
      clearTimeout(totalTimer);
      request.destroy();
      resolve(result);
    };
    const request = client.request(url, {
      method: "POST",
      agent: false,
      lookup: pinned,
      headers: {
        ...headers,
        "content-type": "application/json",
        "content-length": String(Buffer.byteLength(body)),
        "user-agent": "users-api-webhooks/1",
      },
    });
    const connectTimer = setTimeout(
      () =>
        finish({ statusCode: null, error: `no connection within ${limits.connectTimeoutMs} ms` }),
      limits.connectTimeoutMs,
    );
    const totalTimer = setTimeout(
      () =>
        finish({ statusCode: null, error: `no response within ${limits.responseTimeoutMs} ms` }),
      limits.responseTimeoutMs,
    );
    request.on("socket", (socket) => {
      const connected = url.protocol === "https:" ? "secureConnect" : "connect";
      socket.once(connected, () => clearTimeout(connectTimer));
    });
    request.on("error", (error) => finish({ statusCode: null, error: oneLine(error) }));
    request.on("response", (response) => {
      let read = 0;
      response.on("data", (chunk: Buffer) => {
        read += chunk.length;
        // Enough is read: the status is what counts.
        if (read >= limits.maxResponseBytes) finish({ statusCode: response.statusCode ?? 0 });
      });
      response.on("end", () => finish({ statusCode: response.statusCode ?? 0 }));
      response.on("error", () => finish({ statusCode: response.statusCode ?? 0 }));
    });
    request.end(body);
  });
}

function oneLine(error: Error): string {
  const code = (error as { code?: unknown }).code;
  const text = typeof code === "string" ? `${code}: ${error.message}` : error.message;
  return text.replace(/\s+/g, " ").slice(0, 500);
}
