/** Checks that no secret is written into the templates, the parameter file or the outputs. */
import type { BicepFile, Declaration } from "./bicepSource.js";
import type { InfraSources } from "./checkInfraConsistency.js";

/** Connection-string fragments that only ever carry a credential. */
const CREDENTIAL_FRAGMENT = /(AccountKey|SharedAccessKey|SharedAccessSignature)=/i;
/** Functions that return keys or secrets from a resource at deployment time. */
const LIST_FUNCTION = /\blist(Keys|Secrets|ConnectionStrings|AccountSas|ServiceSas|Credentials)\s*\(/;
const SECRET_OUTPUT_NAME = /secret|password|accountkey|apikey|connectionstringwithkey/i;

const isSecure = (d: Declaration): boolean => d.decorators.some((x) => /^@(sys\.)?secure\(\)/.test(x));

/** A run of 32+ base64 or hex characters with both letters and digits: a key, not a word or a GUID. */
export function secretLookingRuns(text: string): string[] {
  const runs = [...text.matchAll(/[A-Za-z0-9+/]{32,}={0,2}|[0-9a-fA-F]{32,}/g)].map((m) => m[0]);
  return runs.filter((r) => /[0-9]/.test(r) && /[A-Za-z]/.test(r));
}

function jsonStrings(value: unknown, path: string, out: { path: string; value: string }[]): void {
  if (typeof value === "string") out.push({ path, value });
  else if (Array.isArray(value)) value.forEach((v, i) => jsonStrings(v, `${path}[${i}]`, out));
  else if (value && typeof value === "object") for (const [k, v] of Object.entries(value)) jsonStrings(v, path ? `${path}.${k}` : k, out);
}

function bicepFileProblems(file: BicepFile): string[] {
  const problems: string[] = [];
  const where = `infra/${file.path}`;
  const secureParams = file.declarations.filter((d) => d.kind === "param" && isSecure(d));
  for (const p of secureParams) {
    if (/^param\s+\w+\s+\w+\s*=/.test(p.text)) problems.push(`bicep: @secure() parameter ${p.name} in ${where} has a default value; secrets must be passed at deployment`);
  }
  if (CREDENTIAL_FRAGMENT.test(file.uncommented)) problems.push(`bicep: ${where} contains a credential connection-string fragment (AccountKey= / SharedAccessKey= / SharedAccessSignature=)`);
  if (LIST_FUNCTION.test(file.code)) problems.push(`bicep: ${where} calls a list*() function that returns keys; use managed identity instead`);
  for (const s of file.strings) {
    for (const run of secretLookingRuns(s.value)) problems.push(`bicep: ${where} contains a secret-looking literal (${run.slice(0, 6)}..., ${run.length} characters)`);
  }
  for (const o of file.declarations.filter((d) => d.kind === "output")) {
    const body = o.text.replace(/^output\s+\w+\s+\w+\s*=/, "");
    const leaked = secureParams.find((p) => new RegExp(`\\b${p.name}\\b`).test(body));
    if (leaked) problems.push(`bicep: output ${o.name} in ${where} exposes the @secure() parameter ${leaked.name}`);
    else if (LIST_FUNCTION.test(body) || /getSecret\s*\(/.test(body)) problems.push(`bicep: output ${o.name} in ${where} returns keys or a secret`);
    else if (SECRET_OUTPUT_NAME.test(o.name)) problems.push(`bicep: output ${o.name} in ${where} looks like a secret; outputs are stored in deployment history`);
  }
  return problems;
}

export function secretProblems(sources: InfraSources): string[] {
  const problems = sources.bicep.flatMap(bicepFileProblems);
  const main = sources.bicep.find((f) => f.path === "main.bicep");
  if (!main || !sources.parameters) return problems;

  const params = main.declarations.filter((d) => d.kind === "param");
  for (const p of params) {
    if (!p.decorators.some((x) => x.startsWith("@description("))) problems.push(`bicep: parameter ${p.name} in infra/main.bicep has no @description`);
    const inFile = Object.hasOwn(sources.parameters, p.name);
    if (isSecure(p) && inFile) problems.push(`parameters: main.parameters.json sets the @secure() parameter ${p.name}; pass secrets on the command line`);
    if (!isSecure(p) && !inFile) problems.push(`parameters: main.parameters.json does not list the parameter ${p.name}`);
  }
  for (const name of Object.keys(sources.parameters)) {
    if (!params.some((p) => p.name === name)) problems.push(`parameters: main.parameters.json sets ${name}, which infra/main.bicep does not declare`);
  }
  if (CREDENTIAL_FRAGMENT.test(sources.parametersText)) problems.push("parameters: main.parameters.json contains a credential connection-string fragment");
  const strings: { path: string; value: string }[] = [];
  jsonStrings(sources.parameters, "", strings);
  for (const s of strings) {
    for (const run of secretLookingRuns(s.value)) problems.push(`parameters: ${s.path} in main.parameters.json looks like a secret (${run.slice(0, 6)}..., ${run.length} characters)`);
  }
  return problems;
}
