import { describe, expect, it } from "vitest";
import { ConcurrencyLimiter } from "../../../shared/dataverse/concurrencyLimiter.js";
import { jsonResponse } from "../http/fakes.js";
import { clientWith } from "./support.js";

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe("ConcurrencyLimiter", () => {
  it("starts from the first x-ms-dop-hint, capped at 52", () => {
    const limiter = new ConcurrencyLimiter();
    limiter.observe(200, "64");
    limiter.observe(200, "8");

    expect(limiter.limit).toBe(52);
  });

  it("halves on each 429 and grows back slowly on success, never above the hint", () => {
    const limiter = new ConcurrencyLimiter();
    limiter.observe(200, "16");

    limiter.observe(429, null);
    limiter.observe(429, null);
    const shrunk = limiter.limit;
    for (let i = 0; i < 4; i++) limiter.observe(200, null);
    const afterFour = limiter.limit;
    for (let i = 0; i < 500; i++) limiter.observe(200, null);

    expect(shrunk).toBe(4);
    expect(afterFour).toBe(5);
    expect(limiter.limit).toBe(16);
  });

  it("holds callers beyond the limit until a slot frees", async () => {
    const limiter = new ConcurrencyLimiter({ initial: 2 });
    const gates = [deferred(), deferred(), deferred()];
    const started: number[] = [];
    const runs = gates.map((g, i) => limiter.run(async () => { started.push(i); await g.promise; }));
    await Promise.resolve();

    const before = [...started];
    gates[0].resolve();
    await runs[0];
    await new Promise((r) => setImmediate(r));

    expect(before).toEqual([0, 1]);
    expect(started).toEqual([0, 1, 2]);
    gates[1].resolve();
    gates[2].resolve();
    await Promise.all(runs);
    expect(limiter.inFlight).toBe(0);
  });

  it("shrinks the client's concurrency when Dataverse answers 429", async () => {
    const { client } = clientWith([
      jsonResponse(200, { UserId: "u" }, { "x-ms-dop-hint": "20" }),
      jsonResponse(429, { error: { code: "0x80072326", message: "concurrent" } }, { "Retry-After": "1" }),
      jsonResponse(200, { UserId: "u" }),
    ]);

    await client.whoAmI();
    const hinted = client.stats().concurrency;
    await client.whoAmI();

    expect(hinted).toBe(20);
    expect(client.stats().concurrency).toBe(10);
  });
});
