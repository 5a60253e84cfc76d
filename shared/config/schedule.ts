import { Cron } from "croner";
import type { Checked } from "./settingRules.js";

const NAMES = /^[A-Za-z]{3,9}$/;
/** An atom NCRONTAB understands: `*`, a number or a month/day name. croner also takes L, W, # and ?, the Functions host does not. */
const ATOM = (atom: string): boolean => atom === "*" || /^\d+$/.test(atom) || NAMES.test(atom);

/**
 * Validates a timer schedule as the Functions host reads it (NCRONTAB, UTC) and returns it with
 * six fields: `{second} {minute} {hour} {day} {month} {day-of-week}`. A five-field cron (as most
 * online samples are written) is accepted and gets second 0.
 */
export function normaliseSchedule(expression: string): Checked<string> {
  const expected = "expected an NCRONTAB schedule of 6 fields ({second} {minute} {hour} {day} {month} {day-of-week}, UTC) or 5 fields without seconds";
  const fields = expression.trim().split(/\s+/).filter(Boolean);
  if (fields.length !== 5 && fields.length !== 6) {
    return { problem: `${expected}; got ${JSON.stringify(expression)} (${fields.length} fields)` };
  }
  const six = fields.length === 5 ? ["0", ...fields] : fields;
  const bad = six.find((field) => !field.split(",").every((part) => part.split("/").flatMap((p) => p.split("-")).every(ATOM)));
  if (bad !== undefined) {
    return { problem: `${expected}; got ${JSON.stringify(expression)} ('${bad}' uses syntax the Functions host does not support)` };
  }
  const pattern = six.join(" ");
  let next: Date | null;
  try {
    const cron = new Cron(pattern, { paused: true, timezone: "UTC" });
    next = cron.nextRun();
    cron.stop();
  } catch (e) {
    return { problem: `${expected}; got ${JSON.stringify(expression)} (${e instanceof Error ? e.message : String(e)})` };
  }
  if (!next) return { problem: `expected a schedule that fires; got ${JSON.stringify(expression)}, which never does: no date matches its day and month (such as 31 February)` };
  return { value: pattern };
}
