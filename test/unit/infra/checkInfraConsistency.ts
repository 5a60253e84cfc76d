/**
 * The infra consistency checker: compares infra/**.bicep, infra/main.parameters.json and
 * local.settings.sample.json with the names the code uses (shared/names.ts) and with the security
 * rules of the deployment. Returns one readable problem per finding; an empty list means consistent.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  FunctionNames,
  LocalRunnerSettings,
  Queues,
  Settings,
  Tables,
  TelemetryEvents,
  poisonQueue,
} from "../../../shared/names.js";
import { Metrics } from "../../../shared/telemetry/metrics.js";
import { alertProblems, type AlertSignal } from "./alertRules.js";
import { readBicepFiles, type BicepFile } from "./bicepSource.js";
import { rbacProblems, storageProblems } from "./resourceRules.js";
import { secretProblems } from "./secretRules.js";
import { legacySettingProblems, settingsProblems, telemetryProblems } from "./settingsRules.js";

export interface InfraPaths {
  /** Directory holding main.bicep, main.parameters.json and app/*.bicep. */
  infraDir: string;
  /** local.settings.sample.json at the repository root. */
  localSettingsSample: string;
  /** docs/deployment.md: when given, it must document every parameter of main.bicep. */
  deploymentDoc?: string;
  /** docs/operations.md: when given, it must have a section for every alert rule. */
  operationsDoc?: string;
}

/** The names the code relies on; tests pass altered copies to prove each guard. */
export interface NameContract {
  settings: readonly string[];
  /** Settings whose values are secrets: Key Vault references in Azure. */
  secretSettings: readonly string[];
  /** Settings only the local runner reads; allowed in the sample, never in Azure. */
  localOnlySettings: readonly string[];
  queues: readonly string[];
  poisonQueue: (name: string) => string;
  tables: readonly string[];
  telemetryEvents: readonly string[];
  /** Events every deployment must alert on. */
  alertedEvents: readonly string[];
  /** Metric names the code records (customMetrics); alert queries may use them too. */
  metrics: readonly string[];
  /** The monitored signals: one alert rule each. */
  alertSignals: readonly AlertSignal[];
  functionNames: readonly string[];
}

export const defaultNames: NameContract = {
  settings: Object.values(Settings),
  secretSettings: [
    Settings.dynamicsClientSecret,
    Settings.dataverseWebhookKey,
    Settings.dataverseWebhookHeader,
    Settings.dataverseWebhookHmacSecret,
    Settings.appApiKey,
    Settings.appWebhookSecret,
    Settings.adminApiKey,
  ],
  localOnlySettings: Object.values(LocalRunnerSettings),
  queues: Object.values(Queues),
  poisonQueue,
  tables: Object.values(Tables),
  telemetryEvents: Object.values(TelemetryEvents),
  alertedEvents: [TelemetryEvents.runCompleted, TelemetryEvents.recordDeadLettered, TelemetryEvents.authFailed],
  functionNames: Object.values(FunctionNames),
  metrics: Object.values(Metrics),
  alertSignals: [
    { rule: "sync-consecutive-failures", queries: [`"${TelemetryEvents.runCompleted}"`] },
    { rule: "sync-critical-mismatch", queries: [`"${Metrics.divergence}"`, "customDimensions.critical"] },
    { rule: "sync-credential-expiring", queries: [`"${Metrics.credentialDaysLeft}"`], thresholdParam: "credentialExpiryWarningDays" },
    { rule: "sync-credential-rejected", queries: [`"${Metrics.tokenFailures}"`, '"AADSTS7000222"', '"AADSTS7000215"'] },
    { rule: "sync-pending-stale", queries: [`"${Metrics.pendingOldestAge}"`], thresholdParam: "stalenessHours" },
    { rule: "sync-poison-messages", queries: ['"Message has reached MaxDequeueCount"'] },
  ],
};

export interface InfraSources {
  bicep: BicepFile[];
  /** Parsed infra/main.parameters.json, or undefined when absent or unreadable. */
  parameters: Record<string, unknown> | undefined;
  parametersText: string;
  /** `Values` of local.settings.sample.json, or undefined when absent or unreadable. */
  sampleValues: Record<string, unknown> | undefined;
}

export function checkInfraConsistency(paths: InfraPaths, names: NameContract = defaultNames): string[] {
  const problems: string[] = [];
  const sources = readSources(paths, problems);
  problems.push(
    ...settingsProblems(sources, names),
    ...legacySettingProblems(sources),
    ...storageProblems(sources.bicep, names),
    ...rbacProblems(sources.bicep),
    ...secretProblems(sources),
    ...telemetryProblems(sources.bicep, names),
    ...documentationProblems(paths, sources.bicep),
    ...alertProblems(sources.bicep, names.alertSignals, paths.operationsDoc),
  );
  return problems;
}

function readSources(paths: InfraPaths, problems: string[]): InfraSources {
  const bicep = existsSync(paths.infraDir) ? readBicepFiles(paths.infraDir) : [];
  if (!bicep.some((f) => f.path === "main.bicep")) problems.push(`infra: ${join(paths.infraDir, "main.bicep")} is missing`);

  const parametersPath = join(paths.infraDir, "main.parameters.json");
  let parameters: Record<string, unknown> | undefined;
  let parametersText = "";
  if (!existsSync(parametersPath)) problems.push(`infra: ${parametersPath} is missing`);
  else {
    parametersText = readFileSync(parametersPath, "utf8");
    try {
      const parsed = JSON.parse(parametersText) as { parameters?: Record<string, unknown> };
      parameters = parsed.parameters ?? {};
    } catch (error) {
      problems.push(`infra: main.parameters.json is not valid JSON (${(error as Error).message})`);
    }
  }

  let sampleValues: Record<string, unknown> | undefined;
  if (!existsSync(paths.localSettingsSample)) {
    problems.push(`local settings: ${paths.localSettingsSample} is missing; it must list every setting the code reads`);
  } else {
    try {
      const parsed = JSON.parse(readFileSync(paths.localSettingsSample, "utf8")) as { Values?: Record<string, unknown> };
      if (!parsed.Values || typeof parsed.Values !== "object") problems.push("local settings: local.settings.sample.json has no \"Values\" object");
      else sampleValues = parsed.Values;
    } catch (error) {
      problems.push(`local settings: local.settings.sample.json is not valid JSON (${(error as Error).message})`);
    }
  }
  return { bicep, parameters, parametersText, sampleValues };
}

function documentationProblems(paths: InfraPaths, bicep: BicepFile[]): string[] {
  if (!paths.deploymentDoc) return [];
  if (!existsSync(paths.deploymentDoc)) return [`docs: ${paths.deploymentDoc} is missing`];
  const doc = readFileSync(paths.deploymentDoc, "utf8");
  const main = bicep.find((f) => f.path === "main.bicep");
  return (main?.declarations ?? [])
    .filter((d) => d.kind === "param" && !doc.includes(`| \`${d.name}\` |`))
    .map((d) => `docs: parameter ${d.name} of infra/main.bicep is not in the parameter table of docs/deployment.md`);
}
