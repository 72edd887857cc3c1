import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { sendWebhook } from "../../server/webhooks/send.ts";

const policy = { httpsOnly: false, allowPrivate: true };
const limits = { connectTimeoutMs: 1000, responseTimeoutMs: 500, maxResponseBytes: 1024 };
let server: Server | undefined;

async function serve(handler: Parameters<typeof createServer>[1]) {
  server = createServer(handler);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
}
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
});

describe("sending one webhook", () => {
  it("gives up on a receiver that never answers, within the response timeout", async () => {
    const url = await serve(() => {});
    const started = Date.now();
    const result = await sendWebhook(url, {}, "{}", policy, limits);
    expect(result).toEqual({ statusCode: null, error: "no response within 500 ms" });
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it("reads no more than the response limit of an endless answer", async () => {
    const url = await serve((_request, response) => {
      response.writeHead(200);
      const chunk = Buffer.alloc(64 * 1024, 120);
      const pump = () => {
        while (response.write(chunk)) {}
        response.once("drain", pump);
      };
      pump();
    });
    const result = await sendWebhook(url, {}, "{}", policy, { ...limits, responseTimeoutMs: 5000 });
    expect(result).toEqual({ statusCode: 200 });
  });

  it("refuses a loopback address when private addresses are not allowed, without connecting", async () => {
    let connected = false;
    const url = await serve((_request, response) => {
      connected = true;
      response.end();
    });
    const result = await sendWebhook(url, {}, "{}", { ...policy, allowPrivate: false }, limits);
    expect(result).toMatchObject({
      statusCode: null,
      error: expect.stringMatching(/reserved address/),
    });
    expect(connected).toBe(false);
  });
});
