import { ActivityMapping, checkActivityMapping } from "./activityMapping.js";
import { mapperNames, type ConfigRegistry } from "./fieldChecks.js";
import { formatIssues } from "./formatIssues.js";

export interface ActivityValidation {
  /** The well-formed activity mappings (all of them only when `problems` is empty). */
  mappings: ActivityMapping[];
  problems: string[];
  /** The file without its activity mappings, for the record-mapping checks. */
  rest: unknown;
  /** Turns `mappings[i]` of `rest` back into the entry's index in the file. */
  renumber: (line: string) => string;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Splits the `"kind": "activity"` mappings off a parsed mapping file and checks them, naming each problem's path. */
export function validateActivityMappings(json: unknown, registry: ConfigRegistry): ActivityValidation {
  const raw = isObject(json) && Array.isArray(json.mappings) ? json.mappings : undefined;
  const same: ActivityValidation = { mappings: [], problems: [], rest: json, renumber: (l) => l };
  if (!raw || !raw.some((m) => isObject(m) && m.kind === "activity")) return same;
  const records: unknown[] = [];
  const fileIndex: number[] = [];
  const activities: { raw: unknown; index: number }[] = [];
  raw.forEach((m, index) => {
    if (isObject(m) && m.kind === "activity") activities.push({ raw: m, index });
    else {
      fileIndex.push(index);
      records.push(m);
    }
  });
  const recordNames = new Set(records.map((m) => (isObject(m) ? m.name : undefined)).filter((n): n is string => typeof n === "string"));
  const problems: string[] = [];
  const mappings: ActivityMapping[] = [];
  const recordMappers = mapperNames(registry, "record");
  for (const { raw: entry, index } of activities) {
    const at = `mappings[${index}]`;
    const parsed = ActivityMapping.safeParse(entry, { reportInput: true });
    if (!parsed.success) {
      problems.push(...formatIssues(parsed.error.issues, ActivityMapping).map((line) => `${at}${line.startsWith("(root)") ? line.slice(6) : `.${line}`}`));
      continue;
    }
    if (recordNames.has(parsed.data.name) || mappings.some((m) => m.name === parsed.data.name)) {
      problems.push(`${at}.name: ${JSON.stringify(parsed.data.name)} is already the name of another mapping; names must be unique`);
    }
    problems.push(...checkActivityMapping(parsed.data, at, recordNames, recordMappers));
    mappings.push(parsed.data);
  }
  const renumber = (line: string) => line.replace(/mappings\[(\d+)\]/g, (whole, i: string) => (fileIndex[Number(i)] === undefined ? whole : `mappings[${fileIndex[Number(i)]}]`));
  return { mappings, problems, rest: { ...json as Record<string, unknown>, mappings: records }, renumber };
}
