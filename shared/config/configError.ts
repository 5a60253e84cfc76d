import { ErrorCodes, SyncError } from "../errors.js";

/**
 * A configuration problem found at start-up. It carries every problem found, not just the first,
 * so an operator fixes all of them in one round trip. Messages never contain secret values.
 */
export class ConfigError extends SyncError {
  readonly problems: readonly string[];

  constructor(code: typeof ErrorCodes.InvalidSetting | typeof ErrorCodes.InvalidConfig, heading: string, problems: readonly string[]) {
    const list = problems.map((p) => `  - ${p}`).join("\n");
    super("validation", code, `${heading} (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n${list}`, {
      details: { problems: [...problems] },
    });
    this.name = "ConfigError";
    this.problems = [...problems];
  }
}

export function isConfigError(e: unknown): e is ConfigError {
  return e instanceof ConfigError;
}
