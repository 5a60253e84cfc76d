import type { Clock } from "../../../shared/ports.js";

/** A clock whose sleeps return at once and are recorded, so back-off can be asserted exactly. */
export class FakeClock implements Clock {
  readonly sleeps: number[] = [];
  constructor(public time = 1_700_000_000_000) {}
  now(): number {
    return this.time;
  }
  async sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.time += ms;
  }
}

export interface RecordedCall {
  url: string;
  method: string;
  headers: Record<string, string>;
  body?: string;
}

export type Step = Response | Error | ((call: RecordedCall) => Response | Promise<Response>);

/** A `fetch` that plays back scripted steps in order and records every call it receives. */
export function scriptedFetch(steps: Step[]): typeof fetch & { calls: RecordedCall[] } {
  const calls: RecordedCall[] = [];
  const fn = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const headers: Record<string, string> = {};
    new Headers(init?.headers).forEach((v, k) => (headers[k] = v));
    const call: RecordedCall = { url: String(input), method: init?.method ?? "GET", headers, body: init?.body as string | undefined };
    calls.push(call);
    const step = steps.shift();
    if (step === undefined) throw new Error(`unexpected request ${call.method} ${call.url}`);
    if (step instanceof Error) throw step;
    if (typeof step === "function") return step(call);
    return step;
  };
  return Object.assign(fn as typeof fetch, { calls });
}

export function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(status === 204 ? null : JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });
}

export function networkReset(): Error {
  return Object.assign(new TypeError("fetch failed"), { cause: Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" }) });
}

export function timeoutError(): Error {
  return new DOMException("The operation was aborted due to timeout", "TimeoutError");
}
