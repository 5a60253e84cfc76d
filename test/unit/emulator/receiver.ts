/** A tiny loopback HTTP receiver for webhook tests: records requests, answers from a script. */
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface Received {
  url: URL;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface Receiver {
  url: string;
  received: Received[];
  /** Statuses for the next requests, in order; 200 once the script is used up. "hang" never answers. */
  script: Array<number | "hang">;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const received: Received[] = [];
  const receiver = { received, script: [] as Array<number | "hang"> } as Receiver;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      received.push({ url: new URL(req.url!, "http://127.0.0.1"), headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
      const next = receiver.script.shift() ?? 200;
      if (next === "hang") return;
      res.writeHead(next, { "content-type": "text/plain" }).end("ignored body");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/webhooks/dataverse`;
  receiver.close = () => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
  return receiver;
}
