/**
 * The emulator's own control surface under `/_emulator/` (JSON in and out), so tests in another
 * process, the benchmark and `npm start` users can script faults, read the request log, register
 * webhooks and age change-tracking tokens without touching the emulator's objects directly.
 */
import { ActAsInputError, parseActAs, type ActAsRequest, type EmulatorUser } from "./actAs.js";
import type { FaultRule, FaultScript } from "./faults.js";
import type { RequestLog } from "./requestLog.js";
import type { EmuRequest, EmuResponse } from "./types.js";
import type { WebhookDispatcher, WebhookRegistration } from "./webhooks.js";

export interface AdminParts {
  faults: FaultScript;
  log: RequestLog;
  webhooks: WebhookDispatcher;
  expireDeltaTokens(): void;
  /** A Web API request as the user named in the body (actAs.ts); the routes answer 404 without it. */
  actAs?(request: ActAsRequest): Promise<EmuResponse>;
  users?(): EmulatorUser[];
}

class BadInput extends Error {}

export async function handleAdmin(req: EmuRequest, parts: AdminParts): Promise<EmuResponse> {
  const route = req.url.pathname.replace(/^\/_emulator\/?/, "").replace(/\/+$/, "");
  const method = req.method.toUpperCase();
  try {
    if (route === "faults" && method === "POST") {
      const body = readJson(req.body);
      const rules = (Array.isArray(body) ? body : [body]).map(toFaultRule);
      return json(201, { ids: rules.map((rule) => parts.faults.add(rule)) });
    }
    if (route === "faults" && method === "DELETE") return clear(() => parts.faults.clear());
    if (route === "faults" && method === "GET") return json(200, { value: parts.faults.list().map(serializableRule) });
    if (route.startsWith("faults/") && method === "DELETE") {
      return parts.faults.remove(decodeURIComponent(route.slice("faults/".length))) ? noContent() : notFound();
    }
    if (route === "requests" && method === "GET") {
      const top = Number(req.url.searchParams.get("top") ?? NaN);
      const entries = parts.log.entries();
      return json(200, { value: Number.isInteger(top) && top > 0 ? entries.slice(-top) : entries });
    }
    if (route === "requests" && method === "DELETE") return clear(() => parts.log.clear());
    if (route === "webhooks" && method === "POST") {
      try {
        return json(201, { id: parts.webhooks.register(readJson(req.body) as WebhookRegistration) });
      } catch (error) {
        if (error instanceof TypeError) throw new BadInput(error.message);
        throw error;
      }
    }
    if (route.startsWith("webhooks/") && route !== "webhooks/deliveries" && method === "DELETE") {
      parts.webhooks.unregister(decodeURIComponent(route.slice("webhooks/".length)));
      return noContent();
    }
    if (route === "webhooks/deliveries" && method === "GET") {
      // `?wait=true` lets a test in another process wait for in-flight deliveries first.
      if (req.url.searchParams.get("wait") === "true") await parts.webhooks.idle();
      return json(200, { value: parts.webhooks.deliveries() });
    }
    if (route === "expire-delta-tokens" && method === "POST") return clear(() => parts.expireDeltaTokens());
    if (route === "as-user" && method === "POST" && parts.actAs) return await parts.actAs(parseActAs(readJson(req.body)));
    if (route === "users" && method === "GET" && parts.users) return json(200, { value: parts.users() });
    return notFound();
  } catch (error) {
    if (error instanceof BadInput || error instanceof ActAsInputError) return json(400, { error: { code: "BadRequest", message: error.message } });
    throw error;
  }
}

function toFaultRule(input: unknown): FaultRule {
  if (!input || typeof input !== "object") throw new BadInput("A fault rule must be a JSON object.");
  const raw = input as Record<string, unknown>;
  const rule: FaultRule = {};
  for (const key of ["method", "code", "message"] as const) {
    if (raw[key] !== undefined) rule[key] = stringField(raw, key);
  }
  for (const key of ["status", "delayMs", "retryAfterSeconds"] as const) {
    if (raw[key] !== undefined) rule[key] = numberField(raw, key);
  }
  if (raw.path !== undefined) rule.path = stringField(raw, "path");
  if (raw.pathRegex !== undefined) {
    try {
      rule.path = new RegExp(stringField(raw, "pathRegex"));
    } catch {
      throw new BadInput("pathRegex is not a valid regular expression.");
    }
  }
  // JSON has no Infinity: "Infinity" or null ask for a rule that stays until cleared.
  if (raw.count === "Infinity" || raw.count === null) rule.count = Infinity;
  else if (raw.count !== undefined) rule.count = numberField(raw, "count");
  if (rule.count !== undefined && !(rule.count > 0)) throw new BadInput("count must be a positive number, \"Infinity\" or null.");
  if (raw.reset !== undefined) rule.reset = raw.reset === true;
  if (raw.lostAnswer !== undefined) rule.lostAnswer = raw.lostAnswer === true;
  if (raw.headers !== undefined) {
    if (!raw.headers || typeof raw.headers !== "object") throw new BadInput("headers must be an object of strings.");
    rule.headers = Object.fromEntries(Object.entries(raw.headers as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
  }
  return rule;
}

function serializableRule(rule: FaultRule & { id: string; remaining: number }): Record<string, unknown> {
  const { path, count, remaining, ...rest } = rule;
  return {
    ...rest,
    ...(path instanceof RegExp ? { pathRegex: path.source } : path !== undefined ? { path } : {}),
    count: count === Infinity ? "Infinity" : count,
    remaining: remaining === Infinity ? "Infinity" : remaining,
  };
}

function stringField(raw: Record<string, unknown>, key: string): string {
  if (typeof raw[key] !== "string") throw new BadInput(`${key} must be a string.`);
  return raw[key] as string;
}

function numberField(raw: Record<string, unknown>, key: string): number {
  if (typeof raw[key] !== "number" || Number.isNaN(raw[key])) throw new BadInput(`${key} must be a number.`);
  return raw[key] as number;
}

function readJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    throw new BadInput("The request body must be JSON.");
  }
}

function clear(action: () => void): EmuResponse {
  action();
  return noContent();
}

function json(status: number, body: unknown): EmuResponse {
  return { status, headers: { "content-type": "application/json" }, body: JSON.stringify(body) };
}

function noContent(): EmuResponse {
  return { status: 204, headers: {} };
}

function notFound(): EmuResponse {
  return json(404, { error: { code: "NotFound", message: "No such emulator admin route." } });
}
