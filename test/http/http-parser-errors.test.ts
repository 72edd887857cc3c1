/**
 * What Node's HTTP parser refuses before Fastify routes anything (a URL or headers over 16 KB, a
 * malformed request, a request not received in time, an unknown `Expect`) is answered in the
 * API's `{code, message}` shape with the headers every answer has. Through a real socket:
 * `inject` never goes through the parser.
 */
import { type AddressInfo, connect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ZApiErrorBody } from "../../server/errors/api-errors.ts";
import { createTestApp, type TestApp } from "../helpers/test-app.ts";

type RawAnswer = { status: number; headers: Record<string, string>; body: string };

let t: TestApp;
let port: number;
beforeAll(async () => {
  t = await createTestApp();
  await t.app.listen({ port: 0, host: "127.0.0.1" });
  port = (t.app.server.address() as AddressInfo).port;
});
afterAll(() => t.close());

/** Writes `request` as is and reads the first answer (the connection then closes). */
function rawRequest(request: string, onConnected?: (socket: Socket) => void): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => {
      socket.write(request);
      onConnected?.(socket);
    });
    let data = Buffer.alloc(0);
    socket.on("data", (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
    });
    // The server may close before it has read everything we wrote: an EPIPE/ECONNRESET on our
    // side is not a failure as long as its answer arrived.
    socket.on("error", () => {});
    socket.on("close", () => {
      const text = data.toString("utf8");
      const end = text.indexOf("\r\n\r\n");
      if (end < 0) return reject(new Error(`no answer: ${JSON.stringify(text)}`));
      const [statusLine, ...lines] = text.slice(0, end).split("\r\n");
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(":");
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      resolve({ status: Number(statusLine?.split(" ")[1]), headers, body: text.slice(end + 4) });
    });
    socket.setTimeout(10_000, () => socket.destroy(new Error("no answer within 10 s")));
  });
}

function expectContractAnswer(answer: RawAnswer, status: number, code: string) {
  expect(answer.status, answer.body).toBe(status);
  expect(answer.headers["content-type"]).toMatch(/^application\/json/);
  expect(answer.headers["x-content-type-options"]).toBe("nosniff");
  expect(answer.headers["x-request-id"]).toBeTruthy();
  expect(Number(answer.headers["content-length"])).toBe(Buffer.byteLength(answer.body));
  const body = ZApiErrorBody.strict().parse(JSON.parse(answer.body));
  expect(Object.keys(body).sort()).toEqual(["code", "message"]);
  expect(body.code).toBe(code);
  expect(body.message).not.toBe("");
}

const get = (path: string, extraHeaders = "") =>
  `GET ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\n${extraHeaders}\r\n`;

describe("requests Node's parser refuses get the API's body", () => {
  it("a REST URL over 16 KB → 431 HEADERS_TOO_LARGE", async () => {
    const filter = encodeURIComponent(`email eq '${"a".repeat(20_000)}@example.com'`);
    expectContractAnswer(
      await rawRequest(get(`/api/users?$filter=${filter}`)),
      431,
      "HEADERS_TOO_LARGE",
    );
  });

  it("a tRPC URL over 16 KB → 431 HEADERS_TOO_LARGE", async () => {
    const input = encodeURIComponent(JSON.stringify({ $filter: "x".repeat(20_000) }));
    expectContractAnswer(
      await rawRequest(get(`/trpc/users.list?input=${input}`)),
      431,
      "HEADERS_TOO_LARGE",
    );
  });

  it("a header over 16 KB → 431 HEADERS_TOO_LARGE", async () => {
    expectContractAnswer(
      await rawRequest(get("/api/users/me", `x-padding: ${"p".repeat(20_000)}\r\n`)),
      431,
      "HEADERS_TOO_LARGE",
    );
  });

  it("a malformed request line → 400 VALIDATION_ERROR", async () => {
    expectContractAnswer(await rawRequest("NOT HTTP AT ALL\r\n\r\n"), 400, "VALIDATION_ERROR");
  });

  it("Content-Length together with Transfer-Encoding (request smuggling) → 400 VALIDATION_ERROR", async () => {
    const request =
      "POST /api/users/signup HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n" +
      "content-length: 4\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n";
    expectContractAnswer(await rawRequest(request), 400, "VALIDATION_ERROR");
  });

  it("an Expect other than 100-continue → 400 VALIDATION_ERROR, the request not run", async () => {
    expectContractAnswer(
      await rawRequest(get("/api/users/me", "expect: something-else\r\n")),
      400,
      "VALIDATION_ERROR",
    );
  });

  it("a request not received in time → 408 REQUEST_TIMEOUT", async () => {
    // Node raises this after `headersTimeout`/`requestTimeout`, checked every 30 s: the same
    // event is raised here on the server's side of a real connection with half a request.
    const serverSide = new Promise<Socket>((resolve) => t.app.server.once("connection", resolve));
    const answer = rawRequest("GET /api/users/me HTTP/1.1\r\nhost: 127", async () => {
      const timeout = Object.assign(new Error("Request timeout"), {
        code: "ERR_HTTP_REQUEST_TIMEOUT",
      });
      t.app.server.emit("clientError", timeout, await serverSide);
    });
    expectContractAnswer(await answer, 408, "REQUEST_TIMEOUT");
  });
});
