/**
 * `node scripts/node22.mjs --import tsx test/bench/httpExchange.ts [requests] [concurrency]`: the CPU
 * of one HttpClient call through each exchange (shared/http/exchange.ts), the built-in fetch against
 * undici's `request`, against a loopback server answering a small JSON body (the server's part is
 * counted in both, since it runs in this process). Prints a JSON line per round.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { ErrorCodes, SyncError } from "../../shared/errors.js";
import { HttpClient } from "../../shared/http/httpClient.js";

const requests = Number.parseInt(process.argv[2] ?? "20000", 10);
const concurrency = Number.parseInt(process.argv[3] ?? "16", 10);
const answer = JSON.stringify({ id: "5f0c6f5e-0000-4000-8000-000000000001", version: "3", fields: { name: "Someone", email: "someone@example.com", notes: "x".repeat(300) } });
const server = createServer((req, res) => {
  req.resume();
  req.on("end", () => {
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(answer), etag: 'W/"3"' });
    res.end(answer);
  });
});
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/sync/mentor/1`;
const classify = () => new SyncError("permanent", ErrorCodes.Rejected, "unexpected status");
const body = JSON.stringify({ fields: { name: "Someone else", notes: "y".repeat(200) } });

async function round(name: string, client: HttpClient): Promise<void> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next++ < requests) await client.send({ method: "PATCH", url, headers: { "content-type": "application/json", "if-match": 'W/"2"' }, body });
  }));
  const used = process.cpuUsage(cpu);
  process.stdout.write(`${JSON.stringify({ exchange: name, requests, concurrency, seconds: (performance.now() - started) / 1000, cpuMicrosPerRequest: (used.user + used.system) / requests })}\n`);
}

try {
  for (let i = 0; i < 2; i++) {
    await round("fetch", new HttpClient({ classify, fetch: globalThis.fetch }));
    await round("undici request", new HttpClient({ classify }));
  }
} finally {
  server.close();
}
process.exit(0);
