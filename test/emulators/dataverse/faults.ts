/**
 * Scripted faults: tests (or the admin route) queue rules; the core asks `take()` before handling
 * each request and, when a rule matches, answers with it instead of (or, for a pure delay, before)
 * the normal handling. Rules are consumed in insertion order so a script reads top to bottom.
 */
import { randomUUID } from "node:crypto";
import type { EmuResponse } from "./types.js";

export interface FaultRule {
  /** HTTP method to match (case-insensitive); any method when absent. */
  method?: string;
  /** Matched against path+search relative to `/api/data/v9.2/`: substring (string) or `test` (RegExp). */
  path?: string | RegExp;
  /** How many requests the rule applies to: default 1; `Infinity` keeps it until cleared. */
  count?: number;
  status?: number;
  code?: string;
  message?: string;
  /** Wait this long (real ms) before answering; without `status` the request then proceeds normally. */
  delayMs?: number;
  /** Destroy the connection instead of answering (a network reset as the client sees it). */
  reset?: boolean;
  /** Handle the request normally, then destroy the connection instead of answering: the work is done, the client never learns it. */
  lostAnswer?: boolean;
  retryAfterSeconds?: number;
  headers?: Record<string, string>;
}

interface ActiveRule {
  id: string;
  rule: FaultRule;
  remaining: number;
}

export class FaultScript {
  private rules: ActiveRule[] = [];

  add(rule: FaultRule): string {
    const count = rule.count ?? 1;
    if (!(count > 0)) throw new RangeError("FaultRule.count must be a positive number or Infinity");
    const id = randomUUID();
    this.rules.push({ id, rule: { ...rule }, remaining: count });
    return id;
  }

  remove(id: string): boolean {
    const before = this.rules.length;
    this.rules = this.rules.filter((r) => r.id !== id);
    return this.rules.length !== before;
  }

  clear(): void {
    this.rules = [];
  }

  /** Active rules with their remaining counts (for the admin route and debugging). */
  list(): Array<FaultRule & { id: string; remaining: number }> {
    return this.rules.map((r) => ({ ...r.rule, id: r.id, remaining: r.remaining }));
  }

  /** The first rule matching this request, consuming one use of it; undefined when none matches. */
  take(method: string, path: string): FaultRule | undefined {
    const index = this.rules.findIndex((r) => matches(r.rule, method, path));
    if (index < 0) return undefined;
    const active = this.rules[index];
    active.remaining -= 1;
    if (active.remaining <= 0) this.rules.splice(index, 1);
    return { ...active.rule };
  }
}

function matches(rule: FaultRule, method: string, path: string): boolean {
  if (rule.method && rule.method.toUpperCase() !== method.toUpperCase()) return false;
  if (rule.path === undefined) return true;
  if (typeof rule.path === "string") return path.includes(rule.path);
  rule.path.lastIndex = 0; // a /g or /y RegExp keeps state between test() calls
  return rule.path.test(path);
}

/** Whether the rule answers by itself (a status or a reset), rather than only delaying. */
export function faultAnswers(rule: FaultRule): boolean {
  return rule.reset === true || rule.status !== undefined;
}

/**
 * The Dataverse-shaped response for a rule with a `status` (the core may use this so every scripted
 * fault looks the same): `{"error":{"code","message"}}` plus `Retry-After` and any extra headers.
 */
export function faultRuleResponse(rule: FaultRule): EmuResponse {
  const status = rule.status ?? 503;
  const headers: Record<string, string> = {
    "content-type": "application/json; odata.metadata=minimal",
    "odata-version": "4.0",
    ...(rule.retryAfterSeconds !== undefined ? { "retry-after": String(rule.retryAfterSeconds) } : {}),
    ...lowerCaseKeys(rule.headers ?? {}),
  };
  const message = rule.message ?? `Scripted fault (HTTP ${status}).`;
  return { status, headers, body: JSON.stringify({ error: { code: rule.code ?? "", message } }) };
}

function lowerCaseKeys(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}
