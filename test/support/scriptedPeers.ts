/**
 * Scripted peers for issue #19 part A: a tiny loopback HTTP server in front of the real emulator (the
 * sample app or the Dataverse emulator) that answers exactly what a test script says for the requests
 * it matches, and passes every other request through unchanged. The product talks to it over real
 * HTTP with its real clients, as it would to a misbehaving app or service; the emulator behind it
 * still holds the truth, so a test can check that nothing wrong was written on either side.
 *
 * Links in answers (nextLink, deltaLink, OData-EntityId) name the emulator's origin; the peer swaps
 * the two origins both ways, so the product never learns it is talking through a proxy.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { ClientSecretCredential } from "@azure/identity";
import { loadSettings } from "../../shared/config/settings.js";
import type { Clock } from "../../shared/ports.js";
import { createServices, type Services } from "../../shared/runtime/services.js";
import type { RunSummary } from "../../shared/runtime/summary.js";
import { runCycle, type CycleOptions } from "../../shared/runtime/syncCycle.js";
import { Settings } from "../../shared/names.js";
import { uniqueName } from "./storage.js";
import { startSyncHarness, type HarnessOptions, type SyncHarness } from "./syncHarness.js";

export interface PeerRequest {
  method: string;
  /** Path and query as the product sent them. */
  path: string;
  body: string;
  /** What the product was answered (scripted or passed through). */
  status: number;
  scripted: boolean;
}

export interface PeerAnswer {
  status: number;
  headers?: Record<string, string>;
  /** A string is sent as it is; anything else as JSON. */
  body?: unknown;
}

export interface PeerRule {
  method?: string;
  /** Matched against path and query: a substring, or a pattern. */
  path?: string | RegExp;
  /** How many matching requests the rule answers (default 1; Infinity until cleared). */
  count?: number;
  /** Answer without asking the emulator. `n` counts this rule's answers from 0. */
  answer?: PeerAnswer | ((req: { method: string; path: string; body: string; n: number }) => PeerAnswer);
  /** Ask the emulator, then answer this instead (its body as text, JSON bodies parsed by the caller). */
  rewrite?: (real: { status: number; headers: Record<string, string>; body: string }, req: { method: string; path: string; body: string }) => PeerAnswer;
}

export interface ScriptedPeer {
  readonly origin: string;
  readonly requests: PeerRequest[];
  script(rule: PeerRule): void;
  clear(): void;
  stop(): Promise<void>;
}

/** Headers that belong to one connection, not to the message. */
const HOP = new Set(["host", "connection", "content-length", "transfer-encoding", "keep-alive", "accept-encoding"]);

export async function startScriptedPeer(upstream: string, options: { authorization?: () => Promise<string> } = {}): Promise<ScriptedPeer> {
  const target = new URL(upstream).origin;
  let rules: { rule: PeerRule; left: number; n: number }[] = [];
  const requests: PeerRequest[] = [];
  let origin = "";
  const swap = (text: string, from: string, to: string) => text.split(from).join(to);

  const server: Server = createServer((req, res) => {
    void (async () => {
      const body = await readAll(req);
      const method = req.method ?? "GET";
      const path = req.url ?? "/";
      const active = rules.find((r) => r.left > 0 && matches(r.rule, method, path));
      let answer: PeerAnswer;
      if (active?.rule.answer) {
        active.left -= 1;
        const a = active.rule.answer;
        answer = typeof a === "function" ? a({ method, path, body, n: active.n++ }) : a;
      } else {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(req.headers)) if (!HOP.has(k) && typeof v === "string") headers[k] = v;
        if (options.authorization) headers.authorization = await options.authorization();
        const real = await fetch(target + swap(path, origin, target), { method, headers, body: body === "" ? undefined : swap(body, origin, target) });
        const realHeaders: Record<string, string> = {};
        real.headers.forEach((v, k) => { if (!HOP.has(k) && k !== "content-encoding") realHeaders[k] = swap(v, target, origin); });
        const real2 = { status: real.status, headers: realHeaders, body: swap(await real.text(), target, origin) };
        if (active?.rule.rewrite) {
          active.left -= 1;
          active.n++;
          answer = active.rule.rewrite(real2, { method, path, body });
        } else answer = real2;
      }
      const text = answer.body === undefined ? "" : typeof answer.body === "string" ? answer.body : JSON.stringify(answer.body);
      const headers = { ...(typeof answer.body === "object" ? { "content-type": "application/json" } : {}), ...answer.headers };
      requests.push({ method, path, body, status: answer.status, scripted: !!active });
      rules = rules.filter((r) => r.left > 0);
      res.writeHead(answer.status, headers);
      res.end(answer.status === 204 || answer.status === 304 ? undefined : text);
    })().catch((e) => {
      res.writeHead(599);
      res.end(String(e));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin, requests,
    script: (rule) => void rules.push({ rule, left: rule.count ?? 1, n: 0 }),
    clear: () => void (rules = []),
    stop: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

function matches(rule: PeerRule, method: string, path: string): boolean {
  if (rule.method && rule.method.toUpperCase() !== method.toUpperCase()) return false;
  if (rule.path === undefined) return true;
  const decoded = decodeURIComponent(path);
  return typeof rule.path === "string" ? path.includes(rule.path) || decoded.includes(rule.path) : rule.path.test(path) || rule.path.test(decoded);
}

async function readAll(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

export interface ScriptedHarness {
  /** The emulators (the truth behind the peers) and their helpers. */
  h: SyncHarness;
  /** The product, configured to reach the app and Dataverse only through the peers. */
  services: Services;
  app: ScriptedPeer;
  dataverse: ScriptedPeer;
  logs: { level: string; message: string; props?: Record<string, unknown> }[];
  cycle(options?: Partial<CycleOptions>): Promise<RunSummary>;
  stop(): Promise<void>;
}

/**
 * The sync harness (Azurite, token endpoint, Dataverse emulator, sample app) with a scripted peer in
 * front of each remote system. The Dataverse peer presents its own token to the emulator (from the
 * same local token endpoint with @azure/identity): the product's token is for the peer's origin.
 */
export async function startScriptedHarness(options: HarnessOptions & { clock?: Clock } = {}): Promise<ScriptedHarness> {
  const h = await startSyncHarness(options);
  const env = h.stack.env;
  const upstreamCredential = new ClientSecretCredential(env[Settings.dynamicsTenantId], env[Settings.dynamicsClientId], env[Settings.dynamicsClientSecret], {
    authorityHost: env[Settings.dynamicsAuthorityHost], disableInstanceDiscovery: true,
  });
  const app = await startScriptedPeer(h.stack.app.baseUrl);
  const dataverse = await startScriptedPeer(h.stack.dataverse.origin, {
    authorization: async () => `Bearer ${(await upstreamCredential.getToken(`${h.stack.dataverse.origin}/.default`)).token}`,
  });
  const logs: ScriptedHarness["logs"] = [];
  const log = (level: string) => (message: string, props?: Record<string, unknown>) => void logs.push({ level, message, props });
  const settings = loadSettings({
    ...env,
    [Settings.dynamicsInstanceUrl]: dataverse.origin,
    [Settings.appBaseUrl]: app.origin + new URL(h.stack.app.baseUrl).pathname,
  }, { serveHttp: false });
  const services = await createServices({
    settings, config: h.config, queues: "memory", tablePrefix: uniqueName("t"), clock: options.clock, registry: options.registry,
    logger: { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") }, telemetry: h.telemetry,
  });
  return {
    h, services, app, dataverse, logs,
    cycle: async (o = {}) => (await runCycle(services, { full: false, dryRun: false, ...o })).summary,
    stop: async () => {
      await Promise.all([app.stop(), dataverse.stop()]);
      await h.stop();
    },
  };
}
