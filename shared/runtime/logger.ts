import type { Logger } from "../ports.js";

export type LogLevel = "debug" | "info" | "warn" | "error";
const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/**
 * Structured logs as JSON lines on stderr (stdout is kept for command output such as the run
 * summary). Every known secret value is masked wherever it appears, as defence in depth: code never
 * logs a secret on purpose.
 */
export class JsonLogger implements Logger {
  private readonly secrets: string[];

  constructor(
    private readonly options: { level?: LogLevel; secrets?: (string | undefined)[]; write?: (line: string) => void; base?: Record<string, unknown> } = {},
  ) {
    this.secrets = (options.secrets ?? []).filter((s): s is string => !!s && s.length >= 6).sort((a, b) => b.length - a.length);
  }

  debug(message: string, props?: Record<string, unknown>): void { this.log("debug", message, props); }
  info(message: string, props?: Record<string, unknown>): void { this.log("info", message, props); }
  warn(message: string, props?: Record<string, unknown>): void { this.log("warn", message, props); }
  error(message: string, props?: Record<string, unknown>): void { this.log("error", message, props); }

  private log(level: LogLevel, message: string, props?: Record<string, unknown>): void {
    if (order[level] < order[this.options.level ?? "info"]) return;
    const line = JSON.stringify({ time: new Date().toISOString(), level, message, ...this.options.base, ...props });
    (this.options.write ?? ((l: string) => process.stderr.write(l + "\n")))(this.mask(line));
  }

  private mask(text: string): string {
    let out = text;
    for (const s of this.secrets) out = out.split(s).join("***").split(JSON.stringify(s).slice(1, -1)).join("***");
    return out;
  }
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
