/**
 * Field rules of the demo domain (`mentor`, `group`, `invoice`). Other entity names are accepted without
 * field validation, so tests can serve their own entities.
 */
import type { AppStore } from "./appStore.js";

type FieldType = "string" | "integer" | "decimal" | "boolean" | "date" | "datetime" | "certification" | "groupRef";

interface FieldRule {
  type: FieldType;
  nullable: boolean;
}

const certificationStatuses = ["active", "expired", "pending"] as const;

export const demoEntities: Record<string, Record<string, FieldRule>> = {
  group: {
    name: { type: "string", nullable: false },
    region: { type: "string", nullable: true },
  },
  mentor: {
    firstName: { type: "string", nullable: true },
    lastName: { type: "string", nullable: true },
    email: { type: "string", nullable: true },
    certificationStatus: { type: "certification", nullable: false },
    certifiedUntil: { type: "date", nullable: true },
    score: { type: "integer", nullable: true },
    hourlyRate: { type: "decimal", nullable: true },
    isPublic: { type: "boolean", nullable: false },
    groupId: { type: "groupRef", nullable: true },
    lastContactAt: { type: "datetime", nullable: true },
    active: { type: "boolean", nullable: false },
  },
  // Mentors' invoices as Finance & Operations exports them (the F&O demo's from-finops job, examples/finops-demo).
  invoice: {
    number: { type: "string", nullable: false },
    mentorId: { type: "string", nullable: true },
    amount: { type: "decimal", nullable: false },
    invoiceDate: { type: "date", nullable: true },
  },
};

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

/** The first problem with `data` for `entity` as a message, or undefined when it is valid. */
export function validateData(entity: string, data: Record<string, unknown>, store: AppStore): string | undefined {
  if ("id" in data) return "id must not be inside data";
  const rules = demoEntities[entity];
  if (!rules) return undefined;
  for (const [field, value] of Object.entries(data)) {
    const rule = rules[field];
    if (!rule) return `${field} is not a field of ${entity}`;
    if (value === null) {
      if (!rule.nullable) return `${field} must not be null`;
      continue;
    }
    const problem = checkValue(field, rule.type, value, store);
    if (problem) return problem;
  }
  return undefined;
}

function checkValue(field: string, type: FieldType, value: unknown, store: AppStore): string | undefined {
  switch (type) {
    case "string":
      return typeof value === "string" ? undefined : `${field} must be a string`;
    case "integer":
      return Number.isSafeInteger(value) ? undefined : `${field} must be an integer`;
    case "decimal":
      // A number with more digits than a double holds arrives as a Number (exactJson's ExactNumber).
      return (typeof value === "number" || value instanceof Number) && Number.isFinite(Number(value)) ? undefined : `${field} must be a number`;
    case "boolean":
      return typeof value === "boolean" ? undefined : `${field} must be a boolean`;
    case "date":
      return typeof value === "string" && isCalendarDate(value) ? undefined : `${field} must be a date (YYYY-MM-DD)`;
    case "datetime":
      return typeof value === "string" && DATETIME.test(value) && !Number.isNaN(Date.parse(value)) ? undefined : `${field} must be an ISO 8601 date-time with an offset`;
    case "certification":
      return (certificationStatuses as readonly unknown[]).includes(value) ? undefined : `${field} must be one of ${certificationStatuses.join(", ")}`;
    case "groupRef":
      if (typeof value !== "string") return `${field} must be a string`;
      return store.live("group", value) ? undefined : `${field} refers to group ${value}, which does not exist`;
  }
}

function isCalendarDate(value: string): boolean {
  const m = DATE.exec(value);
  if (!m) return false;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.getUTCFullYear() === Number(m[1]) && d.getUTCMonth() === Number(m[2]) - 1 && d.getUTCDate() === Number(m[3]);
}

/** The highest `<prefix>-<n>` of an entity so far, and how many of its ids that covers. */
interface Highest {
  pattern: RegExp;
  seen: number;
  max: number;
}
const highest = new WeakMap<AppStore, Map<string, Highest>>();

/**
 * The id the app assigns on POST: mentors `m-0001`…, groups a slug of the name, others `<entity>-0001`…
 * (one above the highest number taken, tombstones included). The highest is kept per store and
 * entity and moved on over the ids stored since: a scan of every id on each POST made a load of
 * 100,000 records quadratic.
 */
export function assignId(entity: string, data: Record<string, unknown>, store: AppStore): string {
  if (entity === "group" && typeof data.name === "string") {
    const slug = data.name.toLowerCase().replace(/ø/g, "o").replace(/æ/g, "ae").normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");
    const base = `g-${slug || "group"}`;
    let candidate = base;
    for (let n = 2; store.find(entity, candidate); n += 1) candidate = `${base}-${n}`;
    return candidate;
  }
  const prefix = entity === "mentor" ? "m" : entity === "group" ? "g" : entity;
  let entities = highest.get(store);
  if (!entities) highest.set(store, (entities = new Map()));
  let h = entities.get(entity);
  if (!h) entities.set(entity, (h = { pattern: new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}-(\\d+)$`), seen: 0, max: 0 }));
  const fresh = store.idsFrom(entity, h.seen);
  for (const id of fresh) {
    const m = h.pattern.exec(id);
    if (m) h.max = Math.max(h.max, Number(m[1]));
  }
  h.seen += fresh.length;
  return `${prefix}-${String(h.max + 1).padStart(4, "0")}`;
}
