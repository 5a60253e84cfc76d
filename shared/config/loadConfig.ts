import { readFile } from "node:fs/promises";
import { ErrorCodes } from "../errors.js";
import { ConfigError } from "./configError.js";
import { validateActivityMappings } from "./activityChecks.js";
import { checkSyncConfig, checkWellFormedMappings, defaultRegistry, type ConfigRegistry } from "./configChecks.js";
import { formatIssues } from "./formatIssues.js";
import { parseJsonText } from "./jsonText.js";
import { splitFinops, SyncConfigWithoutMappings, mappingNamesOf, validateFinopsJobs } from "./finopsConfig.js";
import { SyncConfig } from "./mapping.js";
import { normaliseSchedule } from "./schedule.js";

export { mappingOrder, findLookupCycle } from "./mappingOrder.js";
export { BUILT_IN_TRANSFORMS, defaultRegistry, type ConfigRegistry } from "./configChecks.js";

export interface ConfigOptions {
  /** Transform and mapper names registered in code; default: the built-in transforms, no mappers. */
  registry?: ConfigRegistry;
  /** Called once per warning (valid but probably not what was meant); default: ignored. */
  onWarning?: (warning: string) => void;
}

export interface ConfigValidation {
  /** Set when there are no problems. */
  config?: SyncConfig;
  problems: string[];
  warnings: string[];
}

/** Every problem of a parsed mapping file at once: shape (zod), schedule, then the cross-key checks. */
export function validateSyncConfig(json: unknown, registry: ConfigRegistry = defaultRegistry): ConfigValidation {
  // F&O jobs (the top-level "finops" array) are checked on their own (finopsJob.ts); with jobs, the
  // file may have no mappings at all.
  const finopsSplit = splitFinops(json);
  // Activity mappings ("kind": "activity") are checked on their own; the rest as record mappings,
  // with every problem path pointing at the entry's place in the file.
  const activities = validateActivityMappings(finopsSplit.rest, registry);
  const result = validateRecordConfig(activities.rest, registry, finopsSplit.hasJobs);
  const finops = validateFinopsJobs(json, mappingNamesOf(json));
  const problems = [...activities.problems, ...result.problems.map(activities.renumber), ...finops.problems];
  const warnings = result.warnings.map(activities.renumber);
  if (problems.length || !result.config) return { problems, warnings };
  const config = activities.mappings.length ? { ...result.config, activities: activities.mappings } : result.config;
  return { config: finops.jobs.length ? { ...config, finops: finops.jobs } : config, problems, warnings };
}

function validateRecordConfig(json: unknown, registry: ConfigRegistry, finopsOnly = false): ConfigValidation {
  const parsed = (finopsOnly ? SyncConfigWithoutMappings : SyncConfig).safeParse(json, { reportInput: true });
  const problems = parsed.success ? [] : formatIssues(parsed.error.issues, SyncConfig);
  const rawSchedule = (json as { schedule?: unknown } | null)?.schedule;
  const schedule = typeof rawSchedule === "string" ? normaliseSchedule(rawSchedule) : undefined;
  if (schedule && "problem" in schedule) problems.push(`schedule: ${schedule.problem}`);
  const rawReconcile = (json as { options?: { reconcileSchedule?: unknown } } | null)?.options?.reconcileSchedule;
  const reconcile = typeof rawReconcile === "string" ? normaliseSchedule(rawReconcile) : undefined;
  if (reconcile && "problem" in reconcile) problems.push(`options.reconcileSchedule: ${reconcile.problem}`);
  if (!parsed.success) {
    const mappings = (json as { mappings?: unknown } | null)?.mappings;
    const partial = Array.isArray(mappings) ? checkWellFormedMappings(mappings, registry) : { problems: [], warnings: [] };
    return { problems: [...problems, ...partial.problems], warnings: partial.warnings };
  }
  let config: SyncConfig = schedule && "value" in schedule ? { ...parsed.data, schedule: schedule.value } : parsed.data;
  if (reconcile && "value" in reconcile) config = { ...config, options: { ...config.options, reconcileSchedule: reconcile.value } };
  const checked = checkSyncConfig(config, registry);
  problems.push(...checked.problems);
  return problems.length ? { problems, warnings: checked.warnings } : { config, problems, warnings: checked.warnings };
}

function fail(source: string | undefined, problems: string[]): never {
  throw new ConfigError(ErrorCodes.InvalidConfig, `Invalid mapping file${source ? ` ${source}` : ""}`, problems);
}

/** Validates an already-parsed mapping file; throws one ConfigError (INVALID_CONFIG) listing every problem. */
export function parseSyncConfig(json: unknown, source?: string, options: ConfigOptions = {}): SyncConfig {
  const result = validateSyncConfig(json, options.registry);
  for (const warning of result.warnings) options.onWarning?.(warning);
  if (!result.config) fail(source, result.problems);
  return result.config;
}

/** Reads, parses and validates the mapping file (JSON syntax errors name the line and column). */
export async function loadSyncConfig(path: string, options: ConfigOptions = {}): Promise<SyncConfig> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    const reason = (e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : e instanceof Error ? e.message : String(e);
    fail(path, [`cannot read the mapping file: ${reason} (set SYNC_CONFIG_PATH to its location)`]);
  }
  const json = parseJsonText(text);
  if ("problem" in json) fail(path, [json.problem]);
  return parseSyncConfig(json.value, path, options);
}
