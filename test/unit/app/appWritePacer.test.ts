import { describe, expect, it } from "vitest";
import { AppWritePacer, TimeWindow } from "../../../shared/app/appWritePacer.js";
import type { HttpResponse } from "../../../shared/http/httpClient.js";
import type { Clock } from "../../../shared/ports.js";

/** Simulated time: a sleep moves it on to the wake-up time at once. */
function simulatedClock(): Clock & { t: number } {
  const clock = {
    t: 0,
    now: () => clock.t,
    sleep: async (ms: number) => {
      clock.t += Math.max(0, ms);
    },
  };
  return clock;
}

function answer(status: number, headers: Record<string, string> = {}): HttpResponse {
  return { status, headers: new Headers(headers), text: "{}", json: () => ({}) as never };
}

/** Sends one write through the pacer; returns when it went out (simulated ms). */
async function write(pacer: AppWritePacer, clock: { t: number }, status = 201, headers: Record<string, string> = {}): Promise<number> {
  let at = -1;
  await pacer.run(async () => {
    at = clock.t;
    return answer(status, headers);
  });
  return at;
}

describe("the app write pacer", () => {
  it("paces nothing before the app's first 429", async () => {
    // Prepare
    const clock = simulatedClock();
    const pacer = new AppWritePacer(clock);

    // Act
    const times: number[] = [];
    for (let i = 0; i < 500; i++) times.push(await write(pacer, clock));

    // Assess: all at once, no pace learned
    expect(new Set(times)).toEqual(new Set([0]));
    expect(pacer.writesPerSecond).toBeUndefined();
  });

  it("holds every later write, not only the refused one, until the 429's Retry-After has passed", async () => {
    // Prepare
    const clock = simulatedClock();
    const pacer = new AppWritePacer(clock);
    for (let i = 0; i < 10; i++) await write(pacer, clock);

    // Act
    await write(pacer, clock, 429, { "retry-after": "3" });
    const next = await write(pacer, clock);

    // Assess
    expect(next).toBeGreaterThanOrEqual(3000);
  });

  it("paces the writes to what the app accepted in the second before its 429, less 10 %, evenly spaced", async () => {
    // Prepare: the app took 40 writes in the last second, then refused one
    const clock = simulatedClock();
    const pacer = new AppWritePacer(clock);
    for (let i = 0; i < 40; i++) {
      clock.t = i * 20;
      await write(pacer, clock);
    }
    await write(pacer, clock, 429, { "retry-after": "1" });

    // Act: 200 more writes, as fast as the pacer lets them go
    const times: number[] = [];
    for (let i = 0; i < 200; i++) times.push(await write(pacer, clock));

    // Assess: nothing before the Retry-After (at 1,780 ms), then 36 (40 less 10 %) a second, one
    // every 1000/36 ms: 200 writes take over 5 seconds
    expect(pacer.writesPerSecond).toBeCloseTo(36, 5);
    expect(Math.min(...times)).toBe(1780);
    expect(times.filter((t) => t < 2780)).toHaveLength(36);
    const gaps = times.slice(1).map((t, i) => t - times[i]);
    expect(Math.min(...gaps)).toBeCloseTo(1000 / 36, 5);
    expect(times[times.length - 1] - times[0]).toBeGreaterThanOrEqual(5000);
  });

  it("counts a burst of 429s (writes that were in flight together) once, and lowers the pace 5 % for a later one", async () => {
    // Prepare
    const clock = simulatedClock();
    const pacer = new AppWritePacer(clock);
    for (let i = 0; i < 100; i++) await write(pacer, clock);

    // Act: eight writes in flight together are refused at once; 5 s later (no raise yet) one more
    await Promise.all(Array.from({ length: 8 }, () => pacer.run(async () => answer(429, { "retry-after": "1" }))));
    const afterBurst = pacer.writesPerSecond;
    clock.t += 5000;
    await write(pacer, clock, 429, { "retry-after": "1" });

    // Assess
    expect(afterBurst).toBeCloseTo(90, 5);
    expect(pacer.writesPerSecond).toBeCloseTo(90 * 0.95, 5);
    expect(pacer.stats.throttled).toBe(9);
  });

  it("raises the pace after 10 s of writes waiting for it, goes back to the pace that held when the raise meets a 429, and probes twice as late next time", async () => {
    // Prepare: learned 18 a second
    const clock = simulatedClock();
    const pacer = new AppWritePacer(clock);
    for (let i = 0; i < 20; i++) await write(pacer, clock);
    await write(pacer, clock, 429, { "retry-after": "1" });
    expect(pacer.writesPerSecond).toBeCloseTo(18, 5);

    // Act 1: writes at the pace for 12 s, none refused
    while (clock.t < 12_000) await write(pacer, clock);
    const raised = pacer.writesPerSecond;
    // Act 2: the raised pace meets the limit
    await write(pacer, clock, 429, { "retry-after": "1" });
    const back = pacer.writesPerSecond;
    const refusedAt = clock.t;
    // Act 3: writes again; the next raise waits 20 s, not 10
    while (clock.t < refusedAt + 15_000) await write(pacer, clock);
    const after15s = pacer.writesPerSecond;
    while (clock.t < refusedAt + 22_000) await write(pacer, clock);

    // Assess
    expect(raised).toBeCloseTo(19, 5);
    expect(back).toBeCloseTo(18, 5);
    expect(after15s).toBeCloseTo(18, 5);
    expect(pacer.writesPerSecond).toBeCloseTo(19, 5);
  });
});

describe("the pacer's time window", () => {
  it("keeps only the last span's times as they are added, so writes that never meet a 429 do not pile up", () => {
    const window = new TimeWindow(1000);
    for (let t = 0; t < 100_000; t += 1) window.add(t);
    expect(window.size).toBe(1000);
    expect(window.at(0)).toBe(99_000);
  });
});
