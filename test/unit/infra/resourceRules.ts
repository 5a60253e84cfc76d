/** Checks that storage provisions every queue and table the code uses and that the five roles are assigned. */
import { stringsIn, valueOfKey, type BicepFile, type Declaration } from "./bicepSource.js";
import type { NameContract } from "./checkInfraConsistency.js";

/** The data-plane roles the app's identity needs, and the resource type each is scoped to. */
export const requiredRoles = [
  { role: "Storage Blob Data Owner", id: "b7e6dc6d-f1e8-4753-8033-0f276bb0955b", scopeType: "Microsoft.Storage/storageAccounts" },
  { role: "Storage Queue Data Contributor", id: "974c5e8b-45b9-4653-ba55-5f855dd0fb88", scopeType: "Microsoft.Storage/storageAccounts" },
  { role: "Storage Table Data Contributor", id: "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3", scopeType: "Microsoft.Storage/storageAccounts" },
  { role: "Monitoring Metrics Publisher", id: "3913510d-42f4-4e42-8a64-420c390055eb", scopeType: "Microsoft.Insights/components" },
  { role: "Key Vault Secrets User", id: "4633458b-17de-408a-b874-0445c86b69e6", scopeType: "Microsoft.KeyVault/vaults" },
] as const;

const GUID = /[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}/;

const range = (d: Declaration): [number, number] => [d.start, d.start + d.text.length];

function listVar(files: BicepFile[], name: string): { file: BicepFile; values: string[] } | undefined {
  for (const file of files) {
    const declaration = file.declarations.find((d) => d.kind === "var" && d.name === name);
    if (declaration) return { file, values: stringsIn(file, ...range(declaration)).map((s) => s.value) };
  }
  return undefined;
}

/** A resource of `type` must iterate over the list variable, or the list is provisioned nowhere. */
function loopsOver(file: BicepFile, type: string, listName: string): boolean {
  return file.declarations.some(
    (d) => d.kind === "resource" && d.target?.startsWith(`${type}@`) && new RegExp(`for\\s+\\w+\\s+in\\s+${listName}\\b`).test(d.text),
  );
}

export function storageProblems(files: BicepFile[], names: NameContract): string[] {
  const problems: string[] = [];
  const queues = listVar(files, "queueNames");
  if (!queues) problems.push("bicep: no `var queueNames` lists the storage queues");
  else {
    if (!loopsOver(queues.file, "Microsoft.Storage/storageAccounts/queueServices/queues", "queueNames")) {
      problems.push(`bicep: no queueServices/queues resource in infra/${queues.file.path} is created for each of queueNames`);
    }
    for (const queue of names.queues.flatMap((q) => [q, names.poisonQueue(q)])) {
      if (!queues.values.includes(queue)) problems.push(`bicep: queue ${queue} (shared/names.ts) is not provisioned in queueNames of infra/${queues.file.path}`);
    }
  }
  const tables = listVar(files, "tableNames");
  if (!tables) problems.push("bicep: no `var tableNames` lists the storage tables");
  else {
    if (!loopsOver(tables.file, "Microsoft.Storage/storageAccounts/tableServices/tables", "tableNames")) {
      problems.push(`bicep: no tableServices/tables resource in infra/${tables.file.path} is created for each of tableNames`);
    }
    for (const table of names.tables) {
      if (!tables.values.includes(table)) problems.push(`bicep: table ${table} (shared/names.ts Tables) is not provisioned in tableNames of infra/${tables.file.path}`);
    }
  }
  return problems;
}

interface Assignment {
  file: BicepFile;
  name: string;
  roleId?: string;
  scopeType?: string;
  nameExpression: string;
}

/** `roles.storageBlobDataOwner`-style references resolve through object variables holding GUIDs. */
function guidVariables(file: BicepFile): Map<string, string> {
  const map = new Map<string, string>();
  for (const d of file.declarations.filter((x) => x.kind === "var")) {
    for (const m of d.text.matchAll(/(\w+)\s*:\s*'([0-9a-fA-F-]{36})'/g)) map.set(`${d.name}.${m[1]}`, m[2].toLowerCase());
    const single = /^var\s+\w+\s*=\s*'([0-9a-fA-F-]{36})'/.exec(d.text);
    if (single) map.set(d.name, single[1].toLowerCase());
  }
  return map;
}

function assignments(files: BicepFile[]): Assignment[] {
  const found: Assignment[] = [];
  for (const file of files) {
    const guids = guidVariables(file);
    const resources = new Map(file.declarations.filter((d) => d.kind === "resource").map((d) => [d.name, d]));
    for (const d of file.declarations) {
      if (d.kind !== "resource" || !d.target?.startsWith("Microsoft.Authorization/roleAssignments@")) continue;
      const roleExpression = valueOfKey(file, "roleDefinitionId", ...range(d)) ?? "";
      const literal = GUID.exec(roleExpression)?.[0]?.toLowerCase();
      const reference = [...roleExpression.matchAll(/\b(\w+(?:\.\w+)?)\b/g)].map((m) => guids.get(m[1])).find(Boolean);
      const scopeName = /^(\w+)/.exec(valueOfKey(file, "scope", ...range(d)) ?? "")?.[1];
      const scopeTarget = scopeName ? resources.get(scopeName)?.target : undefined;
      found.push({
        file,
        name: d.name,
        roleId: literal ?? reference,
        scopeType: scopeTarget?.split("@")[0],
        nameExpression: valueOfKey(file, "name", ...range(d)) ?? "",
      });
    }
  }
  return found;
}

export function rbacProblems(files: BicepFile[]): string[] {
  const problems: string[] = [];
  const found = assignments(files);
  for (const required of requiredRoles) {
    const matches = found.filter((a) => a.roleId === required.id);
    if (!matches.length) {
      problems.push(`bicep: no role assignment grants ${required.role} (${required.id}) to the app identity`);
      continue;
    }
    for (const a of matches) {
      if (a.scopeType !== required.scopeType) {
        problems.push(`bicep: role assignment ${a.name} (${required.role}) in infra/${a.file.path} must be scoped to a ${required.scopeType} resource, got ${a.scopeType ?? "no resolvable scope"}`);
      }
      if (!/^guid\(\s*\w+\.id\s*,\s*principalId\s*,/.test(a.nameExpression)) {
        problems.push(`bicep: role assignment ${a.name} (${required.role}) in infra/${a.file.path} must be named guid(<scope>.id, principalId, <role id>) so re-deployments are idempotent`);
      }
    }
  }
  return problems;
}
