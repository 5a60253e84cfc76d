import { existsSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { freePort } from "../../support/azurite.js";
import { killStarted, marked, root, startCli, until } from "../runtime/stackProcess.js";

/** `npm start` on the demo mapping (see stackProcess.ts for how its processes are found). */
const npmStart = (env: Record<string, string>) => startCli({ SYNC_CONFIG_PATH: join(root, "sync.config.json"), ...env });

afterEach(() => killStarted());

describe("npm start", () => {
  it("serves the routes, and Ctrl-C stops it with every child process and its stack file gone", async () => {
    const port = await freePort();
    const s = npmStart({ PORT: String(port) });
    await until(() => s.output().includes("syncing on schedule"), () => `start-up; output so far:\n${s.output()}`);
    const azurite = marked(s.marker).filter((pid) => readFileSync(`/proc/${pid}/cmdline`, "latin1").includes("azurite"));
    const healthBefore = await fetch(`http://127.0.0.1:${port}/api/health`);

    process.kill(s.child.pid!, "SIGINT");
    const code = await s.exited;
    await until(() => marked(s.marker).length === 0, () => `children to exit: ${marked(s.marker).join(", ")}`, 15_000);

    expect(s.output()).toContain(`http://127.0.0.1:${port}/api`);
    expect(healthBefore.status).toBe(200);
    expect(azurite.length).toBe(1);
    expect(code).toBe(0);
    expect(marked(s.marker)).toEqual([]);
    expect(existsSync(join(s.cwd, ".local/stack.env"))).toBe(false);
  });

  it("fails with a clear message naming the port when PORT is in use, leaving nothing running", async () => {
    const port = await freePort();
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(port, "127.0.0.1", () => r()));
    try {
      const s = npmStart({ PORT: String(port) });

      const code = await s.exited;
      await until(() => marked(s.marker).length === 0, () => `children to exit: ${marked(s.marker).join(", ")}`, 15_000);

      expect(code).toBe(1);
      expect(s.output()).toContain(`port ${port} on 127.0.0.1 is already in use`);
      expect(s.output()).toContain("set PORT");
      expect(existsSync(join(s.cwd, ".local/stack.env"))).toBe(false);
    } finally {
      await new Promise<void>((r) => blocker.close(() => r()));
    }
  });
});
