/** Transport-level fakes for the app client: a fetch that answers from a script, a clock that never waits. */
import type { Clock } from "../../../shared/ports.js";

export interface SeenRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: unknown;
}

type Step = { status: number; body?: unknown; headers?: Record<string, string> } | { error: Error } | { hang: true };

export function scriptedFetch(steps: Step[]) {
  const seen: SeenRequest[] = [];
  const script = [...steps];
  const fetchImpl = (async (input: string | URL | Request, init?: RequestInit) => {
    const headers = Object.fromEntries(Object.entries((init?.headers ?? {}) as Record<string, string>).map(([k, v]) => [k.toLowerCase(), v]));
    const raw = init?.body as string | undefined;
    seen.push({ method: init?.method ?? "GET", url: String(input), headers, body: raw === undefined ? undefined : JSON.parse(raw) });
    const step = script.shift();
    if (!step) throw new Error(`unscripted request ${init?.method} ${String(input)}`);
    if ("error" in step) throw step.error;
    if ("hang" in step) {
      return new Promise<Response>((_, reject) => init?.signal?.addEventListener("abort", () => reject(init.signal!.reason), { once: true }));
    }
    const text = step.body === undefined ? null : typeof step.body === "string" ? step.body : JSON.stringify(step.body);
    return new Response(text, { status: step.status, headers: { "content-type": "application/json", ...step.headers } });
  }) as typeof fetch;
  return { fetch: fetchImpl, seen, get remaining() { return script.length; } };
}

/** Records requested sleeps and returns at once, so back-off is asserted without waiting. */
export function recordingClock(start = 0): Clock & { sleeps: number[] } {
  const sleeps: number[] = [];
  let now = start;
  return {
    sleeps,
    now: () => now,
    async sleep(ms: number) {
      sleeps.push(ms);
      now += ms;
    },
  };
}
