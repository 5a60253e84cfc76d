import { spawn } from "node:child_process";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { portOpen } from "../../support/azurite.js";
import { root, until } from "./stackProcess.js";

describe("Azurite started by the local stack", { timeout: 120_000 }, () => {
  it("exits when the process that started it is killed with SIGKILL", async () => {
    const tsx = pathToFileURL(join(root, "node_modules/tsx/dist/loader.mjs")).href;
    const child = spawn(process.execPath, ["--import", tsx, join(root, "test/integration/runtime/azuriteChild.ts")], { stdio: ["ignore", "pipe", "inherit"] });
    let output = "";
    child.stdout?.on("data", (d) => (output += d));
    try {
      await until(() => /azurite \d+/.test(output), () => `Azurite to start; output: ${output}`, 45_000);
      const port = Number(/azurite (\d+)/.exec(output)![1]);
      const openBefore = await portOpen(port);

      child.kill("SIGKILL");
      await until(async () => !(await portOpen(port)), () => `Azurite on port ${port} to exit`, 60_000);

      expect(openBefore).toBe(true);
      expect(await portOpen(port)).toBe(false);
    } finally {
      child.kill("SIGKILL");
    }
  });
});
