/**
 * A loopback HTTP(S) server scripted to misbehave the way a broken or hostile peer does: it never
 * answers, stalls mid-body, drips a body byte by byte, sends far too much, redirects for ever, or
 * throttles with any Retry-After. Each request is recorded (method, path, body), so a test can
 * assert what reached the peer, and what was sent back is counted, so it can assert that a body
 * was refused while streaming rather than read whole.
 */
import { readFileSync } from "node:fs";
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { createServer as createTcpServer, type AddressInfo, type Socket } from "node:net";

export type Behaviour =
  /** Read the request, never answer. */
  | { kind: "stall" }
  /** Send the headers and a first chunk, then nothing more. */
  | { kind: "stallBody"; firstChunk?: string }
  /** A slow-loris body: one small chunk every `everyMs`, never ending. */
  | { kind: "drip"; everyMs: number }
  /** An ordinary answer. */
  | { kind: "json"; status: number; body?: unknown; headers?: Record<string, string> }
  /** A body of `bytes` bytes, streamed with back-pressure; `declareLength` sends Content-Length. */
  | { kind: "huge"; bytes: number; declareLength: boolean }
  /** A 302 to `location`. */
  | { kind: "redirect"; location: string };

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage["headers"];
  body: string;
}

export interface MisbehavingServer {
  /** `http(s)://127.0.0.1:<port>` */
  readonly origin: string;
  readonly requests: RecordedRequest[];
  /** Body bytes written to responses so far. */
  readonly bytesSent: () => number;
  close(): Promise<void>;
}

export interface MisbehavingOptions {
  /** HTTPS with the development certificate (what MSAL needs of an authority). */
  tls?: boolean;
}

/** Starts a server that answers each request as `script` says. */
export async function startMisbehavingServer(script: (req: RecordedRequest) => Behaviour, options: MisbehavingOptions = {}): Promise<MisbehavingServer> {
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let sent = 0;
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const recorded = { method: req.method ?? "", path: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks).toString("utf8") };
      requests.push(recorded);
      behave(script(recorded), res);
    });
  };
  const write = (res: ServerResponse, chunk: string | Buffer): boolean => {
    sent += Buffer.byteLength(chunk);
    return res.write(chunk);
  };
  const behave = (b: Behaviour, res: ServerResponse) => {
    switch (b.kind) {
      case "stall":
        return;
      case "stallBody":
        res.writeHead(200, { "content-type": "application/json" });
        write(res, b.firstChunk ?? '{"value":[');
        return;
      case "drip": {
        res.writeHead(200, { "content-type": "application/json" });
        write(res, '{"value":[');
        const timer = setInterval(() => (res.destroyed ? clearInterval(timer) : write(res, " ")), b.everyMs);
        timers.add(timer);
        return;
      }
      case "json": {
        const text = b.body === undefined ? "" : JSON.stringify(b.body);
        res.writeHead(b.status, { "content-type": "application/json", ...b.headers });
        sent += Buffer.byteLength(text);
        res.end(text);
        return;
      }
      case "redirect":
        res.writeHead(302, { location: b.location });
        res.end();
        return;
      case "huge":
        return streamHuge(res, b.bytes, b.declareLength);
    }
  };
  const streamHuge = (res: ServerResponse, bytes: number, declareLength: boolean) => {
    res.writeHead(200, { "content-type": "application/json", ...(declareLength ? { "content-length": String(bytes) } : {}) });
    const block = Buffer.alloc(64 * 1024, "a");
    let left = bytes;
    const pump = () => {
      while (left > 0 && !res.destroyed) {
        const n = Math.min(left, block.length);
        left -= n;
        if (!write(res, n === block.length ? block : block.subarray(0, n))) return void res.once("drain", pump);
      }
      if (!res.destroyed) res.end();
    };
    pump();
  };
  const server: Server = options.tls ? createHttpsServer(devCertificate(), handler) : createHttpServer(handler);
  return listen(server, sockets, {
    scheme: options.tls ? "https" : "http",
    requests,
    bytesSent: () => sent,
    beforeClose: () => timers.forEach(clearInterval),
  });
}

/**
 * A TCP server that accepts connections and never sends a byte: over https:// the TLS handshake
 * never completes, so the client's connect timeout is what ends the attempt.
 */
export async function startSilentServer(): Promise<MisbehavingServer & { connections: () => number }> {
  const sockets = new Set<Socket>();
  let connections = 0;
  const server = createTcpServer((socket) => {
    connections++;
    socket.on("error", () => undefined);
  });
  const handle = await listen(server, sockets, { scheme: "https", requests: [], bytesSent: () => 0 });
  return { ...handle, connections: () => connections };
}

/** A loopback port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createTcpServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function devCertificate(): { cert: Buffer; key: Buffer } {
  const certPath = process.env.D365_SYNC_DEV_TLS_CERT;
  const keyPath = process.env.D365_SYNC_DEV_TLS_KEY;
  if (!certPath || !keyPath) throw new Error("a TLS misbehaving server needs D365_SYNC_DEV_TLS_CERT/KEY (run through scripts/test.mjs)");
  return { cert: readFileSync(certPath), key: readFileSync(keyPath) };
}

interface ListenExtras {
  scheme: "http" | "https";
  requests: RecordedRequest[];
  bytesSent: () => number;
  beforeClose?: () => void;
}

async function listen(server: Server | ReturnType<typeof createTcpServer>, sockets: Set<Socket>, extras: ListenExtras): Promise<MisbehavingServer> {
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `${extras.scheme}://127.0.0.1:${port}`,
    requests: extras.requests,
    bytesSent: extras.bytesSent,
    async close() {
      extras.beforeClose?.();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
