import { Settings as Names } from "../names.js";
import { isConfigError } from "./configError.js";
import type { ConfigRegistry } from "./configChecks.js";
import { loadSyncConfig } from "./loadConfig.js";
import { ADMIN_API_KEY_REQUIRED, DEFAULT_CONFIG_PATH, loadSettings } from "./settings.js";

export interface ValidateArgs {
  /** Mapping file to check; default SYNC_CONFIG_PATH, else sync.config.json. */
  config?: string;
  /** Also validate the settings (environment variables). */
  env?: boolean;
  /** The environment to read; default process.env. */
  environment?: Record<string, string | undefined>;
  /** Transform and mapper names registered in code; default the built-in transforms. */
  registry?: ConfigRegistry;
}

export interface ValidateResult {
  ok: boolean;
  /** Every problem, settings first, mapping-file problems prefixed with the file path. */
  problems: string[];
  /** Valid but probably unintended (they do not make `ok` false). */
  warnings: string[];
}

function problemsOf(e: unknown): string[] {
  if (isConfigError(e)) return [...e.problems];
  throw e;
}

/** `npm run validate [-- --config <file>] [--env]`: reports every problem instead of stopping at the first. */
export async function validateCommand(args: ValidateArgs): Promise<ValidateResult> {
  const environment = args.environment ?? process.env;
  const problems: string[] = [];
  const warnings: string[] = [];
  let configPath = args.config ?? environment[Names.syncConfigPath]?.trim() ?? "";
  if (args.env) {
    try {
      // The settings `npm run sync` needs; the HTTP host's ADMIN_API_KEY is a warning when it is missing.
      const settings = loadSettings(environment, { serveHttp: false });
      if (!settings.adminApiKey) warnings.push(`${Names.adminApiKey}: not set; ${ADMIN_API_KEY_REQUIRED}`);
      configPath ||= settings.configPath;
    } catch (e) {
      problems.push(...problemsOf(e));
    }
  }
  configPath ||= DEFAULT_CONFIG_PATH;
  try {
    await loadSyncConfig(configPath, { registry: args.registry, onWarning: (w) => warnings.push(`${configPath}: ${w}`) });
  } catch (e) {
    problems.push(...problemsOf(e).map((p) => `${configPath}: ${p}`));
  }
  return { ok: problems.length === 0, problems, warnings };
}
