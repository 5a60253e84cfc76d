import type { FieldMapping } from "./mapping.js";

const quote = (v: unknown) => JSON.stringify(v);

/** The types a value `becomes` can be written to, and what it must be for each. */
function becomesProblem(field: FieldMapping, becomes: unknown): string | undefined {
  switch (field.type) {
    case "choice":
      return typeof becomes === "string" && field.choices && becomes in field.choices ? undefined : `must be one of the field's choices (${Object.keys(field.choices ?? {}).map(quote).join(", ")})`;
    case "status":
      return typeof becomes === "string" && field.statuses && becomes in field.statuses ? undefined : `must be one of the field's statuses (${Object.keys(field.statuses ?? {}).map(quote).join(", ")})`;
    case "string":
      return typeof becomes === "string" ? undefined : "must be a string for a string field";
    case "boolean":
      return typeof becomes === "boolean" ? undefined : "must be true or false for a boolean field";
    case "number":
      return typeof becomes === "number" ? undefined : "must be a number for a number field";
    default:
      return `an expiry rule applies to choice, status, string, boolean and number fields, not ${field.type}`;
  }
}

/** Problems of a field's expiry rule (`expires`), each naming where it is. */
export function expiryProblems(field: FieldMapping, fields: readonly FieldMapping[], at: string): string[] {
  const rule = field.expires;
  if (!rule) return [];
  const problems: string[] = [];
  const when = fields.find((f) => f.app === rule.when);
  if (!when) problems.push(`${at}.expires.when: expected the app name of a date or datetime field of this mapping; got ${quote(rule.when)}`);
  else if (when.type !== "date" && when.type !== "datetime") problems.push(`${at}.expires.when: ${quote(rule.when)} is a ${when.type} field; expected a date or datetime field`);
  else if (when === field) problems.push(`${at}.expires.when: a field cannot expire on itself`);
  const becomes = becomesProblem(field, rule.becomes);
  if (becomes) problems.push(`${at}.expires.becomes: ${becomes}; got ${quote(rule.becomes)}`);
  return problems;
}
