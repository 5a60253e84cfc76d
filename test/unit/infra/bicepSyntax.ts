/**
 * Bicep syntax, checked with the Bicep tree-sitter grammar (tree-sitter-bicep's WASM build run by
 * web-tree-sitter): the Bicep CLI cannot be installed on the development machines, and a file that
 * does not parse must still fail `npm test`.
 */
import { createRequire } from "node:module";
import { Language, Parser, type Node } from "web-tree-sitter";
import type { BicepFile } from "./bicepSource.js";

let parser: Promise<Parser> | undefined;

function bicepParser(): Promise<Parser> {
  return (parser ??= (async () => {
    await Parser.init();
    const wasm = createRequire(import.meta.url).resolve("tree-sitter-bicep/tree-sitter-bicep.wasm");
    const p = new Parser();
    p.setLanguage(await Language.load(wasm));
    return p;
  })());
}

/** The first few syntax errors of a node: ERROR nodes (unexpected text) and MISSING ones (an expected token absent). */
function errorsIn(node: Node, out: string[], limit = 5): void {
  if (out.length >= limit) return;
  if (node.isError || node.isMissing) {
    const at = `line ${node.startPosition.row + 1}, column ${node.startPosition.column + 1}`;
    out.push(node.isMissing ? `${at}: missing ${node.type}` : `${at}: unexpected '${node.text.slice(0, 40).replace(/\s+/g, " ")}'`);
    return;
  }
  for (const child of node.children) if (child) errorsIn(child, out, limit);
}

export async function bicepSyntaxProblems(files: BicepFile[]): Promise<string[]> {
  const p = await bicepParser();
  const problems: string[] = [];
  for (const file of files) {
    const tree = p.parse(file.source);
    if (!tree) {
      problems.push(`bicep: infra/${file.path} could not be parsed`);
      continue;
    }
    if (tree.rootNode.hasError) {
      const errors: string[] = [];
      errorsIn(tree.rootNode, errors);
      problems.push(`bicep: infra/${file.path} has a syntax error: ${errors.join("; ") || "unknown position"}`);
    }
    tree.delete();
  }
  return problems;
}
