/** What a Dataverse request is, as far as its execution time goes. */
export type RequestKind = "read" | "write" | "batch" | "bulk";

export interface RequestCost {
  /** Default "write". */
  kind?: RequestKind;
  /** Records a bulk message carries or operations in a `$batch` (default 1). */
  records?: number;
}

/** Weight of the newest observation: a few requests are enough to follow a slower server. */
const ALPHA = 0.3;

/**
 * Execution-time estimates per kind of request, learned from what requests took. Bulk and `$batch`
 * calls are learned per record and per SIZE CLASS (powers of two): their server time grows with the
 * records, but not in proportion (a fixed share per call weighs more in a call of 10 than in one of
 * 500), so a small call must not set the price of a large one. A class never observed borrows the
 * per-record cost of the nearest class observed, capped at the cold guess when it extrapolates
 * upwards from a smaller class (that per-record figure over-states a larger call). The observed
 * figure is the request's whole duration: it can only be MORE than the server's execution time
 * (latency is in it), so a budget built on it errs on the safe side, and the latency share is
 * small exactly where execution time binds (bulk calls of many records).
 */
export class CostEstimator {
  private readonly perUnit = new Map<string, number>();
  private readonly classes = new Map<RequestKind, Set<number>>();

  /** `coldMs`: what a request of a kind never observed is assumed to cost. */
  constructor(private readonly coldMs: number) {}

  estimate(cost: RequestCost = {}): number {
    const kind = cost.kind ?? "write";
    const units = unitsOf(cost);
    const cls = classOf(units);
    const own = this.perUnit.get(`${kind}:${cls}`);
    if (own !== undefined) return own * units;
    const nearest = [...(this.classes.get(kind) ?? [])].sort((a, b) => Math.abs(a - cls) - Math.abs(b - cls) || b - a)[0];
    if (nearest === undefined) return this.coldMs;
    const borrowed = this.perUnit.get(`${kind}:${nearest}`)! * units;
    return nearest < cls ? Math.min(borrowed, this.coldMs) : borrowed;
  }

  observe(cost: RequestCost, observedMs: number): void {
    if (!(observedMs >= 0)) return;
    const kind = cost.kind ?? "write";
    const units = unitsOf(cost);
    const key = `${kind}:${classOf(units)}`;
    const per = observedMs / units;
    const prev = this.perUnit.get(key);
    // The first observation replaces the cold guess outright; later ones are averaged.
    this.perUnit.set(key, prev === undefined ? per : prev + ALPHA * (per - prev));
    let seen = this.classes.get(kind);
    if (!seen) this.classes.set(kind, (seen = new Set()));
    seen.add(classOf(units));
  }
}

function unitsOf(cost: RequestCost): number {
  return cost.kind === "bulk" || cost.kind === "batch" ? Math.max(1, Math.floor(cost.records ?? 1)) : 1;
}

/** 1 → 0, 2–3 → 1, 4–7 → 2, …, 256–511 → 8, 512–1023 → 9. */
function classOf(units: number): number {
  return Math.floor(Math.log2(units));
}
