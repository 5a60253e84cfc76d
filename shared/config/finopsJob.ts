import { z } from "zod";
import { formatIssues } from "./formatIssues.js";
import { AppFieldName } from "./mapping.js";
import { normaliseSchedule } from "./schedule.js";

/**
 * The mapping file's top-level `finops` array (product.md, Finance & Operations): jobs that move
 * records between the app and Dynamics 365 Finance & Operations through recurring data jobs or the
 * Data management package API. One direction per job. Wire facts: finops-activities-tenants.md part 1.
 */

const GUID = /^\{?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\}?$/;

/** F&O field types: how an app value is written into (and read back from) the file's text. */
export const FinopsFieldType = z.enum(["string", "number", "decimal", "boolean", "date", "datetime"])
  .describe("How the value is written to and read from the F&O file: string, number, decimal, boolean (Yes/No), date (YYYY-MM-DD) or datetime (ISO 8601 UTC).");
export type FinopsFieldType = z.infer<typeof FinopsFieldType>;

/** An F&O data entity field name as it appears in the file's header (e.g. CUSTOMERGROUPID). */
const FinopsFieldName = z.string().min(1).regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "an F&O entity field name: letters, digits and '_'");

export const FinopsField = z.strictObject({
  app: AppFieldName.describe("Field name in the app record's data (`id` is the app record id)."),
  finops: FinopsFieldName.describe("The F&O data entity field (the column of the file), e.g. CUSTOMERGROUPID."),
  type: FinopsFieldType.default("string"),
}).describe("One field: an app field and the F&O entity field it is written to or read from.");
export type FinopsField = z.infer<typeof FinopsField>;

export const FinopsJob = z.strictObject({
  name: z.string().regex(/^[A-Za-z][A-Za-z0-9_-]{0,62}$/, "a name of letters, digits, '-' and '_', starting with a letter")
    .describe("The job's name: used by --finops, POST /api/sync {\"finops\"} and GET /api/finops/jobs; unique among mappings and jobs."),
  direction: z.enum(["to-finops", "from-finops"]).describe("to-finops: app records are imported into F&O; from-finops: F&O exports are written to the app."),
  api: z.enum(["recurring", "package"]).default("recurring")
    .describe("recurring: a recurring data job (enqueue / dequeue / ack / GetMessageStatus); package: the Data management package API (ImportFromPackage / ExportToPackage)."),
  activityId: z.string().regex(GUID, "a GUID (the recurring data job's ID on 'Manage scheduled data jobs'), with or without braces").optional()
    .describe("recurring: the ID of the recurring data job (Manage scheduled data jobs)."),
  dataProject: z.string().min(1).optional()
    .describe("package: the data project (definitionGroupId) that ImportFromPackage / ExportToPackage run."),
  entity: z.string().min(1).optional()
    .describe("The F&O data entity's name, e.g. 'Customer groups' (to-finops: the enqueue's entity parameter and the package's entity)."),
  entityFile: z.string().min(1).optional()
    .describe("from-finops, package format: the entity's data file in the exported package (default: the file the Manifest names, or the only data file)."),
  format: z.enum(["csv", "package"]).default("csv").describe("csv: a file job; package: a data package zip with Manifest.xml and PackageHeader.xml."),
  company: z.string().min(1).max(10).optional().describe("The legal entity (e.g. USMF)."),
  schedule: z.string().optional().describe("NCRONTAB (UTC) of the job's timer; default: the mapping file's schedule. 5 fields get second 0."),
  key: z.array(FinopsFieldName).min(1).optional()
    .describe("F&O fields that identify a record (from-finops: matched through the link map to the app record; to-finops: how F&O's errors are traced back). Default: the first field."),
  batchSize: z.number().int().min(1).max(100_000).default(10_000)
    .describe("to-finops: records per file (message) at most."),
  app: z.strictObject({
    entity: z.string().min(1).describe("The entity name in the App Sync API paths (/sync/{entity}/...)."),
    filter: z.string().min(1).optional().describe("to-finops: only app records matching this filtrex expression are sent, e.g. active == true."),
  }).describe("The app side."),
  fields: z.array(FinopsField).min(1),
}).describe("A Finance & Operations job: one entity, one direction.");
export type FinopsJob = z.infer<typeof FinopsJob>;

export const FinopsJobs = z.array(FinopsJob).describe("Finance & Operations jobs (recurring integrations and the package API), one direction each.");

/** The activity id as F&O shows it, without braces, upper case. */
export function activityIdOf(job: FinopsJob): string {
  return (job.activityId ?? "").replace(/[{}]/g, "").toUpperCase();
}

/** The F&O fields that identify a record of the job. */
export function keyFieldsOf(job: FinopsJob): string[] {
  return job.key ?? [job.fields[0].finops];
}

const quote = (s: string) => JSON.stringify(s);

/** What zod cannot check in a job at `finops[index]`. */
function checkJob(job: FinopsJob, at: string): string[] {
  const problems: string[] = [];
  if (job.api === "recurring" && !job.activityId) problems.push(`${at}.activityId: required for api "recurring" (the recurring data job's ID)`);
  if (job.api === "package" && !job.dataProject) problems.push(`${at}.dataProject: required for api "package" (the data project ImportFromPackage / ExportToPackage run)`);
  if (job.api === "package" && job.format !== "package") problems.push(`${at}.format: the package API moves data packages only; expected "package", got ${quote(job.format)}`);
  if (job.direction === "to-finops" && !job.entity) problems.push(`${at}.entity: required for a to-finops job (the F&O data entity, e.g. "Customer groups")`);
  const seen = new Set<string>();
  job.fields.forEach((f, i) => {
    if (seen.has(f.finops.toUpperCase())) problems.push(`${at}.fields[${i}].finops: ${quote(f.finops)} is mapped twice`);
    seen.add(f.finops.toUpperCase());
  });
  for (const k of job.key ?? []) {
    if (!job.fields.some((f) => f.finops === k)) problems.push(`${at}.key: ${quote(k)} is not the finops name of one of the job's fields`);
  }
  if (job.direction === "from-finops" && job.fields.some((f) => f.app === "id")) {
    problems.push(`${at}.fields: a from-finops job cannot write the app record id (field "id"); the app assigns it`);
  }
  if (job.schedule !== undefined) {
    const checked = normaliseSchedule(job.schedule);
    if ("problem" in checked) problems.push(`${at}.schedule: ${checked.problem}`);
  }
  return problems;
}

export interface FinopsValidation {
  jobs: FinopsJob[];
  problems: string[];
}

/**
 * The `finops` array of a parsed mapping file, each problem naming its path. `mappingNames` are the
 * names of the file's mappings: a job's name must differ from them (both are run by name).
 */
export function validateFinopsJobs(json: unknown, mappingNames: ReadonlySet<string>): FinopsValidation {
  const raw = typeof json === "object" && json !== null && !Array.isArray(json) ? (json as Record<string, unknown>).finops : undefined;
  if (raw === undefined) return { jobs: [], problems: [] };
  if (!Array.isArray(raw)) return { jobs: [], problems: ["finops: expected an array of jobs"] };
  const problems: string[] = [];
  const jobs: FinopsJob[] = [];
  raw.forEach((entry, index) => {
    const at = `finops[${index}]`;
    const parsed = FinopsJob.safeParse(entry, { reportInput: true });
    if (!parsed.success) {
      problems.push(...formatIssues(parsed.error.issues, FinopsJob).map((line) => `${at}${line.startsWith("(root)") ? line.slice(6) : `.${line}`}`));
      return;
    }
    const job = parsed.data;
    if (mappingNames.has(job.name) || jobs.some((j) => j.name === job.name)) {
      problems.push(`${at}.name: ${quote(job.name)} is already the name of another mapping or job; names must be unique`);
    }
    problems.push(...checkJob(job, at));
    jobs.push(job.schedule ? { ...job, schedule: (normaliseSchedule(job.schedule) as { value?: string }).value ?? job.schedule } : job);
  });
  return { jobs, problems };
}
