/** The `Prefer` header preferences the emulator honours. */
export interface Preferences {
  returnRepresentation: boolean;
  maxPageSize?: number;
  trackChanges: boolean;
  continueOnError: boolean;
  /** Raw `odata.include-annotations` value (without quotes), if any. */
  annotations?: string;
}

export function parsePrefer(header: string | undefined): Preferences {
  const prefs: Preferences = { returnRepresentation: false, trackChanges: false, continueOnError: false };
  if (!header) return prefs;
  for (const part of splitPrefer(header)) {
    const [rawName, ...rest] = part.split("=");
    const name = rawName.trim().toLowerCase();
    const value = rest.join("=").trim().replace(/^"|"$/g, "");
    if (name === "return" && value === "representation") prefs.returnRepresentation = true;
    else if (name === "odata.maxpagesize" && /^\d+$/.test(value)) prefs.maxPageSize = Number(value);
    else if (name === "odata.track-changes") prefs.trackChanges = true;
    else if (name === "odata.continue-on-error") prefs.continueOnError = true;
    else if (name === "odata.include-annotations") prefs.annotations = value;
  }
  return prefs;
}

function splitPrefer(header: string): string[] {
  const out: string[] = [];
  let quoted = false;
  let start = 0;
  for (let i = 0; i < header.length; i++) {
    if (header[i] === '"') quoted = !quoted;
    else if (header[i] === "," && !quoted) {
      out.push(header.slice(start, i));
      start = i + 1;
    }
  }
  out.push(header.slice(start));
  return out.map((s) => s.trim()).filter(Boolean);
}

export const Annotation = {
  formatted: "OData.Community.Display.V1.FormattedValue",
  lookupLogicalName: "Microsoft.Dynamics.CRM.lookuplogicalname",
  associatedNav: "Microsoft.Dynamics.CRM.associatednavigationproperty",
} as const;

/** Whether an `odata.include-annotations` filter (`*`, exact names, `Namespace.*`, `-excluded`) admits `name`. */
export function wantsAnnotation(filter: string | undefined, name: string): boolean {
  if (!filter) return false;
  let wanted = false;
  for (const raw of filter.split(",").map((s) => s.trim()).filter(Boolean)) {
    const exclude = raw.startsWith("-");
    const p = exclude ? raw.slice(1) : raw;
    const match = p === "*" || p === name || (p.endsWith(".*") && name.startsWith(p.slice(0, -1)));
    if (match && exclude) return false;
    if (match) wanted = true;
  }
  return wanted;
}
