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
 * Execution-time estimates per kind of request, learned from what requests took. The unit is a
 * record for bulk and `$batch` calls (their server time grows with the records) and the request
 * otherwise. The observed figure is the request's whole duration: it can only be MORE than the
 * server's execution time (latency is in it), so a budget built on it errs on the safe side,
 * and the latency share is small exactly where execution time binds (bulk calls of many records).
 */
export class CostEstimator {
  private readonly perUnit = new Map<RequestKind, number>();

  /** `coldMs`: what a request of a kind never observed is assumed to cost. */
  constructor(private readonly coldMs: number) {}

  estimate(cost: RequestCost = {}): number {
    const per = this.perUnit.get(cost.kind ?? "write");
    return per === undefined ? this.coldMs : per * unitsOf(cost);
  }

  observe(cost: RequestCost, observedMs: number): void {
    if (!(observedMs >= 0)) return;
    const kind = cost.kind ?? "write";
    const per = observedMs / unitsOf(cost);
    const prev = this.perUnit.get(kind);
    // The first observation replaces the cold guess outright; later ones are averaged.
    this.perUnit.set(kind, prev === undefined ? per : prev + ALPHA * (per - prev));
  }
}

function unitsOf(cost: RequestCost): number {
  return cost.kind === "bulk" || cost.kind === "batch" ? Math.max(1, Math.floor(cost.records ?? 1)) : 1;
}
