import { z } from "zod";
import { Mapping, SyncConfig } from "./mapping.js";

export { validateFinopsJobs } from "./finopsJob.js";

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * The mapping file without its `finops` array (checked on its own, finopsJob.ts). `hasJobs`: the
 * file has F&O jobs, so it may have no mappings (`"mappings": []` or none at all).
 */
export function splitFinops(json: unknown): { rest: unknown; hasJobs: boolean } {
  if (!isObject(json) || !("finops" in json)) return { rest: json, hasJobs: false };
  const { finops, ...rest } = json;
  const hasJobs = Array.isArray(finops) && finops.length > 0;
  return { rest: hasJobs && rest.mappings === undefined ? { ...rest, mappings: [] } : rest, hasJobs };
}

/** The mapping file's schema where F&O jobs stand in for mappings: `mappings` may be empty. */
export const SyncConfigWithoutMappings = SyncConfig.extend({ mappings: z.array(Mapping) });

/** The names of a parsed file's mappings (record and activity), well-formed or not. */
export function mappingNamesOf(json: unknown): Set<string> {
  const mappings = isObject(json) && Array.isArray(json.mappings) ? json.mappings : [];
  return new Set(mappings.map((m) => (isObject(m) ? m.name : undefined)).filter((n): n is string => typeof n === "string"));
}
