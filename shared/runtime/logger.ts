import type { Logger } from "../ports.js";
import { secretMasker } from "../redact.js";

export type LogLevel = "debug" | "info" | "warn" | "error";
const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/**
 * Structured logs as JSON lines on stderr (stdout is kept for command output such as the run
 * summary). Every known secret value is masked wherever it appears, in every form `secretForms`
 * knows (a webhook URL whole, its path and query included), as defence in depth: code never logs a
 * secret on purpose.
 */
export class JsonLogger implements Logger {
  private readonly mask: (text: string) => string;

  constructor(
    private readonly options: { level?: LogLevel; secrets?: (string | undefined)[]; write?: (line: string) => void; base?: Record<string, unknown> } = {},
  ) {
    this.mask = secretMasker(options.secrets ?? []);
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
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
