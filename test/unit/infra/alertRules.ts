/**
 * Checks on the alert rules of infra/app/alerts.bicep: one rule per monitored signal, each querying
 * the telemetry the code sends; thresholds that follow the mapping file's options; a section in
 * docs/operations.md for every rule.
 */
import { existsSync, readFileSync } from "node:fs";
import { SyncOptions } from "../../../shared/config/mapping.js";
import type { BicepFile } from "./bicepSource.js";

export interface AlertSignal {
  /** The rule's `name` in the rules array. */
  rule: string;
  /** Texts its query must contain (event or metric names in quotes, codes). */
  queries: readonly string[];
  /** A threshold that must be this main.bicep parameter, whose default must equal the mapping file option of the same name. */
  thresholdParam?: "stalenessHours" | "credentialExpiryWarningDays";
}

interface Rule {
  name: string;
  query: string | undefined;
  threshold: string | undefined;
}

/** The rules of the `rules` array: name, the text of the query variable it uses, and its threshold. */
export function alertRulesOf(file: BicepFile): Rule[] {
  const vars = new Map(file.declarations.filter((d) => d.kind === "var").map((d) => [d.name, d]));
  const rulesVar = vars.get("rules");
  if (!rulesVar) return [];
  const source = file.source.slice(rulesVar.start, rulesVar.start + rulesVar.text.length);
  const blocks = source.split(/\n\s*\{\s*\n/).slice(1);
  return blocks.map((block) => {
    const name = /^\s*name:\s*'([^']+)'/m.exec(block)?.[1] ?? "?";
    const queryVar = /^\s*query:\s*(\w+)/m.exec(block)?.[1];
    const threshold = /^\s*threshold:\s*(\S+)/m.exec(block)?.[1];
    const decl = queryVar ? vars.get(queryVar) : undefined;
    const query = decl ? file.strings.filter((s) => s.start >= decl.start && s.start < decl.start + decl.text.length).map((s) => s.value).join("\n") : undefined;
    return { name, query, threshold };
  });
}

function paramDefault(main: BicepFile | undefined, name: string): string | undefined {
  const decl = main?.declarations.find((d) => d.kind === "param" && d.name === name);
  return decl ? /=\s*(\S+)\s*$/.exec(decl.text.trim())?.[1] : undefined;
}

export function alertProblems(files: BicepFile[], signals: readonly AlertSignal[], operationsDoc: string | undefined): string[] {
  const problems: string[] = [];
  const alerts = files.find((f) => f.path === "app/alerts.bicep");
  const main = files.find((f) => f.path === "main.bicep");
  if (!alerts) return ["bicep: infra/app/alerts.bicep is missing"];
  const rules = alertRulesOf(alerts);
  const defaults = SyncOptions.parse({});
  for (const signal of signals) {
    const rule = rules.find((r) => r.name === signal.rule);
    if (!rule) {
      problems.push(`bicep: no alert rule ${signal.rule} in infra/app/alerts.bicep (one rule per monitored signal)`);
      continue;
    }
    for (const text of signal.queries) {
      if (!rule.query?.includes(text)) problems.push(`bicep: alert rule ${signal.rule} does not query ${text}`);
    }
    if (signal.thresholdParam) {
      if (rule.threshold !== signal.thresholdParam) problems.push(`bicep: alert rule ${signal.rule} must take its threshold from the parameter ${signal.thresholdParam}, not ${rule.threshold}`);
      const bicepDefault = paramDefault(main, signal.thresholdParam);
      const optionDefault = String(defaults[signal.thresholdParam]);
      if (bicepDefault !== optionDefault) {
        problems.push(`bicep: parameter ${signal.thresholdParam} of infra/main.bicep defaults to ${bicepDefault ?? "nothing"}, the mapping file's options.${signal.thresholdParam} to ${optionDefault}`);
      }
    }
  }
  if (operationsDoc) {
    const doc = existsSync(operationsDoc) ? readFileSync(operationsDoc, "utf8") : "";
    for (const rule of rules) {
      if (!new RegExp(`^#{2,4} \`${rule.name}\``, "m").test(doc)) problems.push(`docs: alert rule ${rule.name} has no section (### \`${rule.name}\`) in docs/operations.md saying what to do when it fires`);
    }
  }
  return problems;
}
