import { once } from "node:events";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";

export type Received = { headers: IncomingHttpHeaders; body: string; payload: WebhookPayload };
export type WebhookPayload = {
  id: string;
  type: string;
  timestamp: string;
  subject: string;
  data: Record<string, unknown>;
};

/**
 * A real HTTP receiver on loopback that verifies every request's signature with the
 * `standardwebhooks` package (Standard Webhooks' own implementation, not ours) and records the
 * verified ones. `status` is what it answers; `down()` closes the port (connection refused) and
 * `up()` opens it again on the same port.
 */
export async function startReceiver() {
  const received: Received[] = [];
  const rejected: string[] = [];
  let status = 204;
  let secrets: string[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const headers = request.headers as Record<string, string>;
      const verified = secrets.some((secret) => {
        try {
          new Webhook(secret).verify(body, headers);
          return true;
        } catch {
          return false;
        }
      });
      if (!verified) {
        rejected.push(body);
        response.writeHead(401).end();
        return;
      }
      if (status >= 200 && status < 300) {
        received.push({ headers: request.headers, body, payload: JSON.parse(body) });
      }
      response.writeHead(status).end("ok");
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    port,
    received,
    rejected,
    /** The secrets a signature may be made with (any one verifying is enough). */
    trust(...next: string[]) {
      secrets = next;
    },
    answer(next: number) {
      status = next;
    },
    async down() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    async up() {
      server.listen(port, "127.0.0.1");
      await once(server, "listening");
    },
    async close() {
      server.closeAllConnections();
      if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export type Receiver = Awaited<ReturnType<typeof startReceiver>>;
