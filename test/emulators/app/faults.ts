/** Scripted faults for the sample app: the next matching requests fail, stall or lose their answer. */
export interface FaultRule {
  /** Only requests with this method (any when omitted). */
  method?: string;
  /** Only requests whose path (after the base path, without query) starts with this string or matches this pattern. */
  path?: string | RegExp;
  /** Answer with this status instead of handling the request (unless `afterHandling`). */
  status?: number;
  /** Body for `status` (default `{"error":{"code":"FAULT","message":…}}`). */
  body?: unknown;
  headers?: Record<string, string>;
  /** Wait this long before answering (for client timeouts). */
  delayMs?: number;
  /** How many matching requests the rule applies to (default 1). */
  count?: number;
  /** Handle the request for real first, then replace the answer: a write that happened but whose response was lost. */
  afterHandling?: boolean;
  /** Close the connection without an answer (a network reset as the client sees it). */
  dropConnection?: boolean;
}

interface ActiveRule {
  rule: FaultRule;
  remaining: number;
}

export class FaultPlan {
  private rules: ActiveRule[] = [];

  add(rule: FaultRule): void {
    this.rules.push({ rule, remaining: rule.count ?? 1 });
  }

  clear(): void {
    this.rules = [];
  }

  /** The first rule matching the request, consumed once. */
  take(method: string, path: string): FaultRule | undefined {
    const active = this.rules.find((a) => a.remaining > 0 && matches(a.rule, method, path));
    if (!active) return undefined;
    active.remaining -= 1;
    this.rules = this.rules.filter((a) => a.remaining > 0);
    return active.rule;
  }

  get pending(): number {
    return this.rules.reduce((n, a) => n + a.remaining, 0);
  }
}

function matches(rule: FaultRule, method: string, path: string): boolean {
  if (rule.method && rule.method.toUpperCase() !== method.toUpperCase()) return false;
  if (rule.path === undefined) return true;
  return typeof rule.path === "string" ? path.startsWith(rule.path) : rule.path.test(path);
}
