import { afterEach, describe, expect, it } from "vitest";
import { startSampleApp, type SampleApp } from "../../emulators/app/index.js";

describe("the sample app's optional write rate limit", () => {
  let app: SampleApp | undefined;
  let now = 1_000_000;
  afterEach(async () => {
    await app?.stop();
    app = undefined;
  });

  const post = (id: string) => fetch(`${app!.baseUrl}/sync/group`, {
    method: "POST", headers: { Authorization: "Bearer k", "Content-Type": "application/json" }, body: JSON.stringify({ data: { name: id } }),
  });

  it("answers a write over the limit with 429 and Retry-After, stores nothing for it, and accepts writes again a second later", async () => {
    // Prepare: 2 writes per second, the app's clock held still
    app = await startSampleApp({ apiKey: "k", now: () => now, rateLimit: { writesPerSecond: 2 } });

    // Act
    const first = await post("a");
    const second = await post("b");
    const refused = await post("c");
    const read = await fetch(`${app.baseUrl}/sync/group/changes`, { headers: { Authorization: "Bearer k" } });
    now += 1_000;
    const later = await post("d");

    // Assess
    expect([first.status, second.status]).toEqual([201, 201]);
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe("1");
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("RATE_LIMITED");
    expect(read.status).toBe(200);
    expect(later.status).toBe(201);
    expect(app.list("group").map((g) => g.data?.name).sort()).toEqual(["a", "b", "d"]);
    expect(app.rateLimited).toBe(1);
  });

  it("limits nothing when no rate is configured, and refuses a rate that is not a positive number", async () => {
    app = await startSampleApp({ apiKey: "k", now: () => now });

    const statuses = [];
    for (let i = 0; i < 20; i++) statuses.push((await post(`g${i}`)).status);

    expect(statuses.every((s) => s === 201)).toBe(true);
    expect(() => app!.setRateLimit({ writesPerSecond: 0 })).toThrow(/writesPerSecond must be a positive number/);
  });
});
