/** Altered copies of infra/ and local.settings.sample.json in a temp directory, for proving each guard. */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { InfraPaths } from "./checkInfraConsistency.js";

export const repoRoot = resolve(import.meta.dirname, "../../..");
export const repoPaths: InfraPaths = {
  infraDir: join(repoRoot, "infra"),
  localSettingsSample: join(repoRoot, "local.settings.sample.json"),
  deploymentDoc: join(repoRoot, "docs", "deployment.md"),
  operationsDoc: join(repoRoot, "docs", "operations.md"),
};

export interface InfraCopy {
  paths: InfraPaths;
  /** Replaces `from` (which must occur) with `to` in a file relative to the copy root, e.g. `infra/app/rbac.bicep`. */
  replace(file: string, from: string | RegExp, to: string): void;
  read(file: string): string;
  write(file: string, text: string): void;
  remove(file: string): void;
  dispose(): void;
}

export function copyInfra(): InfraCopy {
  const root = mkdtempSync(join(tmpdir(), "infra-check-"));
  cpSync(repoPaths.infraDir, join(root, "infra"), { recursive: true });
  if (existsSync(repoPaths.localSettingsSample)) cpSync(repoPaths.localSettingsSample, join(root, "local.settings.sample.json"));
  if (repoPaths.deploymentDoc && existsSync(repoPaths.deploymentDoc)) cpSync(repoPaths.deploymentDoc, join(root, "deployment.md"));
  if (repoPaths.operationsDoc && existsSync(repoPaths.operationsDoc)) cpSync(repoPaths.operationsDoc, join(root, "operations.md"));
  const at = (file: string): string => join(root, file);
  const copy: InfraCopy = {
    paths: { infraDir: at("infra"), localSettingsSample: at("local.settings.sample.json"), deploymentDoc: at("deployment.md"), operationsDoc: at("operations.md") },
    read: (file) => readFileSync(at(file), "utf8"),
    write: (file, text) => writeFileSync(at(file), text),
    remove: (file) => rmSync(at(file)),
    replace(file, from, to) {
      const text = copy.read(file);
      const found = typeof from === "string" ? text.includes(from) : from.test(text);
      // An edit that matches nothing would let a guard test pass without exercising the guard.
      if (!found) throw new Error(`test setup: ${String(from)} not found in ${file}`);
      copy.write(file, text.replace(from, to));
    },
    dispose: () => rmSync(root, { recursive: true, force: true }),
  };
  return copy;
}

/** Edits the `Values` of the copied local.settings.sample.json. */
export function editSampleValues(copy: InfraCopy, edit: (values: Record<string, string>) => void): void {
  const sample = JSON.parse(copy.read("local.settings.sample.json")) as { Values: Record<string, string> };
  edit(sample.Values);
  copy.write("local.settings.sample.json", JSON.stringify(sample, null, 2));
}
