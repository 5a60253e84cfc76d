import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../../../", import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith(".ts"))
    .map((e) => join(e.parentPath, e.name));
}

describe("the product speaks only the service's protocol", () => {
  it("reads no emulator-only header anywhere in shared/ or functions/ (emulated time reaches it through its Clock)", () => {
    const offenders = [...sources("shared"), ...sources("functions")].filter((file) => /x-emulator-/i.test(readFileSync(file, "utf8")));
    expect(offenders).toEqual([]);
  });
});
