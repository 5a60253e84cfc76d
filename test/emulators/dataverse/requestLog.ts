/**
 * Every request the emulator answered, for assertions ("the client sent exactly one PATCH") and
 * for the benchmark. Bounded twice (entry count and total body characters) because benchmarks push
 * hundreds of thousands of requests, many carrying bulk payloads.
 */

export interface LoggedRequest {
  at: number;
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
  status: number;
  userId?: string;
  inBatch: boolean;
  durationMs: number;
  /** Which of the emulated web servers took it (the load balancer's choice). */
  server?: number;
}

export interface RequestLogOptions {
  /** Oldest entries are dropped beyond this many (default 100,000). */
  maxEntries?: number;
  /** Oldest entries are dropped when the bodies together exceed this many characters (default 64 Mi). */
  maxBodyChars?: number;
  /** false stores no bodies, so a long benchmark keeps every entry's timing (default true). */
  bodies?: boolean;
}

/** Header values that are credentials: kept as a scheme hint only, never stored. */
const SECRET_HEADERS = new Set(["authorization", "proxy-authorization", "cookie", "x-functions-key"]);

export class RequestLog {
  private readonly maxEntries: number;
  private readonly maxBodyChars: number;
  private readonly bodies: boolean;
  // A growable ring: `items[start..]` are live; compacted when the dead prefix gets large.
  private items: LoggedRequest[] = [];
  private start = 0;
  private bodyChars = 0;
  private dropped = 0;

  constructor(options: RequestLogOptions = {}) {
    this.maxEntries = Math.max(1, options.maxEntries ?? 100_000);
    this.maxBodyChars = Math.max(0, options.maxBodyChars ?? 64 * 1024 * 1024);
    this.bodies = options.bodies ?? true;
  }

  record(entry: LoggedRequest): void {
    const stored: LoggedRequest = { ...entry, headers: redact(entry.headers), body: this.bodies ? entry.body : "" };
    this.items.push(stored);
    this.bodyChars += stored.body.length;
    while (this.size > this.maxEntries || (this.bodyChars > this.maxBodyChars && this.size > 1)) this.dropOldest();
  }

  /** Live entries, oldest first (a copy). */
  entries(): LoggedRequest[] {
    return this.items.slice(this.start);
  }

  get size(): number {
    return this.items.length - this.start;
  }

  /** How many entries were evicted since the last clear (so a reader knows the log is partial). */
  get droppedCount(): number {
    return this.dropped;
  }

  clear(): void {
    this.items = [];
    this.start = 0;
    this.bodyChars = 0;
    this.dropped = 0;
  }

  private dropOldest(): void {
    const oldest = this.items[this.start];
    this.bodyChars -= oldest.body.length;
    this.start += 1;
    this.dropped += 1;
    if (this.start > 1024 && this.start * 2 > this.items.length) {
      this.items = this.items.slice(this.start);
      this.start = 0;
    }
  }
}

function redact(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (!SECRET_HEADERS.has(lower)) out[lower] = value;
    else out[lower] = /^\S+ /.test(value) ? `${value.split(" ")[0]} <redacted>` : "<redacted>";
  }
  return out;
}
