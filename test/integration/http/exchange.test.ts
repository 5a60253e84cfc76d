import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { brotliCompressSync, deflateSync, gzipSync } from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";
import { ErrorCodes, SyncError } from "../../../shared/errors.js";
import { HttpClient, type HttpResponse } from "../../../shared/http/httpClient.js";

/**
 * HttpClient's default exchange (undici's `request`, not fetch) against a real loopback server:
 * what fetch did for us (decoding, redirects, repeated headers) must still happen, and the size
 * bound must hold on the decoded body.
 */
let server: Server | undefined;
afterEach(async () => {
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = undefined;
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  server = createServer((req, res) => {
    req.resume();
    req.on("end", () => handler(req, res));
  });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function classify(res: HttpResponse): SyncError {
  return new SyncError("permanent", ErrorCodes.Rejected, `status ${res.status}`, { status: res.status });
}

const client = (maxResponseBytes = 1_000_000) => new HttpClient({ classify, policy: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1 }, bounds: { maxResponseBytes } });

describe("HttpClient's default exchange", () => {
  const payload = JSON.stringify({ value: Array.from({ length: 200 }, (_, i) => ({ contactid: `id-${i}`, fullname: `Person ${i}` })) });

  it.each([
    ["gzip", gzipSync],
    ["deflate", deflateSync],
    ["br", brotliCompressSync],
  ] as const)("asks for compressed answers and decodes %s", async (encoding, encode) => {
    // Prepare
    let asked: string | undefined;
    const origin = await serve((req, res) => {
      asked = req.headers["accept-encoding"];
      const body = encode(Buffer.from(payload));
      res.writeHead(200, { "content-type": "application/json", "content-encoding": encoding, "content-length": body.length });
      res.end(body);
    });

    // Act
    const res = await client().send({ method: "GET", url: `${origin}/api/data/v9.2/contacts` });

    // Assess
    expect(asked).toBe("gzip, deflate, br");
    expect(res.json()).toEqual(JSON.parse(payload));
  });

  it("bounds the decoded size, not the compressed one: a small zip bomb is refused as RESPONSE_TOO_LARGE", async () => {
    // 10 MB of zeros compress to about 10 KB, under the 100 KB limit as sent.
    const bomb = gzipSync(Buffer.alloc(10_000_000));
    const origin = await serve((_req, res) => {
      res.writeHead(200, { "content-encoding": "gzip", "content-length": bomb.length });
      res.end(bomb);
    });

    const err = await client(100_000).send({ method: "GET", url: `${origin}/big` }).then(() => undefined, (e: SyncError) => e);

    expect(bomb.length).toBeLessThan(100_000);
    expect(err).toMatchObject({ code: ErrorCodes.ResponseTooLarge, details: { limit: 100_000 } });
  });

  it("follows a redirect as fetch did, and keeps every value of a repeated header", async () => {
    const origin = await serve((req, res) => {
      if (req.url === "/old") {
        res.writeHead(307, { location: "/new" });
        res.end();
        return;
      }
      res.setHeader("set-cookie", ["ARRAffinity=a; Path=/", "ARRAffinitySameSite=a; Path=/"]);
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ at: req.url }));
    });

    const res = await client().send({ method: "GET", url: `${origin}/old` });

    expect(res.json()).toEqual({ at: "/new" });
    expect(res.headers.getSetCookie()).toEqual(["ARRAffinity=a; Path=/", "ARRAffinitySameSite=a; Path=/"]);
  });
});
