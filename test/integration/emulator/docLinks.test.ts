/**
 * The local-stack and emulator docs link only to what is in the repository (or on the web): every
 * relative link names a file that exists, every `#anchor` a heading of that file, and no path
 * points outside the repository.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { root } from "../runtime/stackProcess.js";

const DOCS = ["README.md", "docs/local-development.md", "test/emulators/dataverse/README.md", "test/fixtures/webhooks/README.md"];

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(/\s/g, "-");
}

function anchors(file: string): Set<string> {
  const text = readFileSync(file, "utf8").replace(/```[\s\S]*?```/g, "");
  return new Set([...text.matchAll(/^#{1,6}\s+(.+)$/gm)].map((m) => slug(m[1])));
}

function brokenLinks(doc: string): string[] {
  const file = join(root, doc);
  const text = readFileSync(file, "utf8").replace(/```[\s\S]*?```/g, "");
  const problems: string[] = [];
  for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
    if (/^(https?:|mailto:)/.test(target)) continue;
    const [path, anchor] = target.split("#");
    const resolved = path ? resolve(dirname(file), path) : file;
    if (relative(root, resolved).startsWith("..")) problems.push(`${target}: outside the repository`);
    else if (!existsSync(resolved)) problems.push(`${target}: no such file`);
    else if (anchor && resolved.endsWith(".md") && !anchors(resolved).has(anchor)) problems.push(`${target}: no heading #${anchor}`);
  }
  for (const m of text.matchAll(/\/work\/[\w./-]+/g)) problems.push(`${m[0]}: a path outside the repository`);
  return problems;
}

describe("the local-stack and emulator docs", () => {
  it.each(DOCS)("%s links only to files and headings inside the repository", (doc) => {
    expect(brokenLinks(doc)).toEqual([]);
  });
});
