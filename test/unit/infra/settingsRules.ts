/** Checks on app settings (Bicep and the local sample), Flex-rejected settings and alert telemetry names. */
import { objectKeys, valueOfKey, type BicepFile, type Declaration } from "./bicepSource.js";
import type { InfraSources, NameContract } from "./checkInfraConsistency.js";

type Allowed = string | RegExp;

/** Host-level settings the code does not read itself but the platform or SDKs do. */
export const hostSettingsAllowList: { bicep: readonly Allowed[]; sample: readonly Allowed[] } = {
  bicep: [/^AzureWebJobsStorage__\w+$/, "AZURE_CLIENT_ID", "APPLICATIONINSIGHTS_AUTHENTICATION_STRING", "languageWorkers__node__arguments"],
  sample: [
    /^AzureWebJobsStorage__\w+$/,
    // Core Tools refuses to start without it locally; Flex rejects it in Azure.
    "FUNCTIONS_WORKER_RUNTIME",
    "AZURE_CLIENT_ID",
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
    /^AzureWebJobs\.\w+\.Disabled$/,
  ],
};

/** App settings Flex Consumption rejects or ignores (the runtime lives in functionAppConfig). */
export const flexRejectedSettings = [
  "FUNCTIONS_WORKER_RUNTIME",
  "FUNCTIONS_EXTENSION_VERSION",
  "WEBSITE_RUN_FROM_PACKAGE",
  "WEBSITE_CONTENTSHARE",
  "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING",
  "SCM_DO_BUILD_DURING_DEPLOYMENT",
  "ENABLE_ORYX_BUILD",
  "WEBSITE_TIME_ZONE",
  "TZ",
] as const;

const allowed = (key: string, list: readonly Allowed[]): boolean =>
  list.some((a) => (typeof a === "string" ? a === key : a.test(key)));

/** A setting counts as present in its identity-based form too (`AzureWebJobsStorage__queueServiceUri`). */
const provides = (key: string, setting: string): boolean => key === setting || key.startsWith(`${setting}__`);

interface SettingsBlock {
  file: BicepFile;
  /** Declarations whose object literals make up the app settings. */
  parts: Declaration[];
  keys: string[];
}

/**
 * The app settings in Bicep: the `Microsoft.Web/sites/config` resource named 'appsettings', plus
 * every variable of the same file it (transitively) refers to, e.g. `union(hostSettings, ...)`.
 */
export function bicepAppSettings(files: BicepFile[]): SettingsBlock | undefined {
  for (const file of files) {
    const resource = file.declarations.find(
      (d) => d.kind === "resource" && d.target?.startsWith("Microsoft.Web/sites/config@") && /name:\s*'appsettings'/.test(d.text),
    );
    if (!resource) continue;
    const vars = new Map(file.declarations.filter((d) => d.kind === "var").map((d) => [d.name, d]));
    const parts: Declaration[] = [];
    const queue: Declaration[] = [resource];
    while (queue.length) {
      const part = queue.shift()!;
      if (parts.includes(part)) continue;
      parts.push(part);
      const code = file.code.slice(part.start, part.start + part.text.length);
      for (const [name, declaration] of vars) if (new RegExp(`\\b${name}\\b`).test(code) && declaration !== part) queue.push(declaration);
    }
    const keys = parts.flatMap((p) => objectKeys(file, p.start, p.start + p.text.length));
    // The resource's own structural keys are not settings.
    const structural = new Set(["parent", "name", "properties"]);
    return { file, parts, keys: [...new Set(keys.filter((k) => !structural.has(k)))] };
  }
  return undefined;
}

export function settingsProblems(sources: InfraSources, names: NameContract): string[] {
  const problems: string[] = [];
  const block = bicepAppSettings(sources.bicep);
  if (!block) problems.push("bicep: no Microsoft.Web/sites/config resource named 'appsettings' holds the app settings");
  else {
    for (const setting of names.settings) {
      if (!block.keys.some((k) => provides(k, setting))) problems.push(`bicep: setting ${setting} (shared/names.ts Settings) is missing from the app settings in infra/${block.file.path}`);
    }
    for (const key of block.keys) {
      if (!names.settings.includes(key) && !allowed(key, hostSettingsAllowList.bicep)) {
        problems.push(`bicep: app setting ${key} in infra/${block.file.path} is not read by the code (not in shared/names.ts Settings)`);
      }
    }
    for (const secret of names.secretSettings) {
      const value = block.parts.map((p) => valueOfKey(block.file, secret, p.start, p.start + p.text.length)).find((v) => v !== undefined);
      if (value !== undefined && !value.startsWith("'@Microsoft.KeyVault(SecretUri=")) {
        problems.push(`bicep: secret setting ${secret} must be a @Microsoft.KeyVault(SecretUri=...) reference, got ${value}`);
      }
    }
  }
  if (sources.sampleValues) {
    const keys = Object.keys(sources.sampleValues);
    for (const setting of names.settings) {
      if (!keys.some((k) => provides(k, setting))) problems.push(`local settings: setting ${setting} (shared/names.ts Settings) is missing from local.settings.sample.json`);
    }
    for (const key of keys) {
      if (!names.settings.includes(key) && !names.localOnlySettings.includes(key) && !allowed(key, hostSettingsAllowList.sample)) {
        problems.push(`local settings: ${key} in local.settings.sample.json is not read by the code (not in shared/names.ts Settings)`);
      }
    }
  }
  return problems;
}

export function legacySettingProblems(sources: InfraSources): string[] {
  const problems: string[] = [];
  for (const file of sources.bicep) {
    for (const setting of flexRejectedSettings) {
      const asKey = new RegExp(`(?<![\\w.$])${setting}(?![\\w])`).test(file.code);
      const asString = file.strings.some((s) => s.value === setting);
      if (asKey || asString) problems.push(`bicep: ${setting} in infra/${file.path} is a legacy setting Flex Consumption rejects`);
    }
  }
  return problems;
}

/** The alert queries must use the event and function names the code emits. */
export function telemetryProblems(files: BicepFile[], names: NameContract): string[] {
  const problems: string[] = [];
  const queries = files.flatMap((f) => f.strings.map((s) => ({ file: f, text: s.value })));
  for (const event of names.alertedEvents) {
    if (!queries.some((q) => q.text.includes(`"${event}"`))) problems.push(`bicep: no alert rule queries the ${event} event (shared/names.ts TelemetryEvents)`);
  }
  for (const { file, text } of queries) {
    for (const m of text.matchAll(/name\s*==\s*"([^"]+)"/g)) {
      if (!names.telemetryEvents.includes(m[1]) && !names.metrics.includes(m[1])) {
        problems.push(`bicep: alert query in infra/${file.path} uses event ${m[1]}, which shared/names.ts TelemetryEvents does not emit (nor is it a metric of shared/telemetry/metrics.ts)`);
      }
    }
    for (const m of text.matchAll(/operation_Name\s*(?:==\s*"([^"]+)"|in\s*\(([^)]*)\))/g)) {
      const used = m[1] ? [m[1]] : [...(m[2] ?? "").matchAll(/"([^"]+)"/g)].map((x) => x[1]);
      for (const fn of used) {
        if (!names.functionNames.includes(fn)) problems.push(`bicep: alert query in infra/${file.path} uses function ${fn}, which shared/names.ts FunctionNames does not register`);
      }
    }
  }
  return problems;
}
