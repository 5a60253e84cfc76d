import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { FunctionNames, Queues, poisonQueue } from "../../../shared/names.js";
import { HostQueueSettings } from "../../../shared/runtime/queuePump.js";
import { decodeQueueMessage, encodeQueueMessage } from "../../../shared/state/queueMessages.js";

interface Registered { kind: "http" | "timer" | "storageQueue"; name: string; options: Record<string, any> }
const registered: Registered[] = [];
/** `app.setup` calls, with how many functions were registered before each. */
const setups: { options: Record<string, unknown>; after: number }[] = [];

// What the Azure host would receive: app.* replaced by recorders (libraries.md §2, approach 1).
vi.mock("@azure/functions", async (importOriginal) => {
  const orig = await importOriginal<typeof import("@azure/functions")>();
  const rec = (kind: Registered["kind"]) => (name: string, options: Record<string, any>) => void registered.push({ kind, name, options });
  const setup = (options: Record<string, unknown>) => void setups.push({ options, after: registered.length });
  return { ...orig, app: { ...orig.app, setup, http: rec("http"), timer: rec("timer"), storageQueue: rec("storageQueue") } };
});

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const readJson = (path: string) => JSON.parse(readFileSync(join(root, path), "utf8"));
const byName = (name: string) => registered.find((r) => r.name === name);

beforeAll(async () => {
  delete process.env.D365_SYNC_LOCAL_RUNNER;
  delete process.env.SYNC_CONFIG_PATH;
  process.chdir(root);
  await import("../../../functions/all.js");
});

describe("function registrations as the Azure host sees them", () => {
  it("turns HTTP streaming on before the first registration, so the CSV export is not buffered whole", () => {
    expect(setups).toEqual([{ options: { enableHttpStream: true }, after: 0 }]);
  });

  it("registers every function exactly once, with unique names", () => {
    const names = registered.map((r) => r.name);

    expect(new Set(names).size).toBe(names.length);
    for (const name of [FunctionNames.timer, FunctionNames.runWorker, FunctionNames.dataverseWriter, FunctionNames.appWriter,
      FunctionNames.recordEventWorker, FunctionNames.manualSync, FunctionNames.runStatus, FunctionNames.listRuns, FunctionNames.health]) {
      expect(names).toContain(name);
    }
  });

  it.each([
    [FunctionNames.manualSync, "sync", ["POST"]],
    [FunctionNames.runStatus, "sync/runs/{runId}", ["GET"]],
    [FunctionNames.listRuns, "sync/runs", ["GET"]],
    [FunctionNames.health, "health", ["GET"]],
  ])("serves %s on /api/%s for %j, anonymous at the host (the key is checked in code)", (name, route, methods) => {
    const fn = byName(name);

    expect(fn?.kind).toBe("http");
    expect(fn?.options).toMatchObject({ route, methods, authLevel: "anonymous" });
    expect(typeof fn?.options.handler).toBe("function");
  });

  it("sets route, methods and authLevel explicitly on every HTTP function (the v4 default is anonymous, any method)", () => {
    const http = registered.filter((r) => r.kind === "http");

    expect(http.length).toBeGreaterThanOrEqual(4);
    for (const fn of http) {
      expect(fn.options.route, fn.name).toMatch(/^[a-z]/);
      expect(fn.options.methods?.length, fn.name).toBeGreaterThan(0);
      expect(["anonymous", "function", "admin"], fn.name).toContain(fn.options.authLevel);
    }
  });

  it("runs the timer on the mapping file's schedule, never on start-up, with the schedule monitor", () => {
    const timer = byName(FunctionNames.timer);

    expect(timer?.kind).toBe("timer");
    expect(timer?.options).toMatchObject({ schedule: readJson("sync.config.json").schedule, runOnStartup: false, useMonitor: true });
  });

  it("triggers one worker per queue and one poison watcher per queue, all on AzureWebJobsStorage", () => {
    const queues = registered.filter((r) => r.kind === "storageQueue");
    const workerQueues = { [FunctionNames.runWorker]: Queues.runs, [FunctionNames.dataverseWriter]: Queues.dataverseWrites, [FunctionNames.appWriter]: Queues.appWrites, [FunctionNames.recordEventWorker]: Queues.recordEvents };

    for (const [name, queue] of Object.entries(workerQueues)) expect(byName(name)?.options.queueName, name).toBe(queue);
    const watched = queues.filter((q) => q.name.startsWith(FunctionNames.poisonWatcher)).map((q) => q.options.queueName).sort();
    expect(watched).toEqual(Object.values(Queues).map(poisonQueue).sort());
    expect(queues).toHaveLength(Object.keys(Queues).length * 2);
    for (const q of queues) expect(q.options.connection, q.name).toBe("AzureWebJobsStorage");
  });
});

describe("what the host loads", () => {
  const pkg = readJson("package.json");
  const build = readJson("tsconfig.build.json");
  const base = readJson("tsconfig.json");
  const functionFiles = readdirSync(join(root, "functions")).filter((f) => f.endsWith(".ts"));

  /** tsc maps `<rootDir>/x.ts` to `<outDir>/x.js`. */
  const emitted = (file: string) => join(base.compilerOptions.outDir, relative(resolve(root, base.compilerOptions.rootDir), resolve(root, file))).replace(/\.ts$/, ".js").replaceAll("\\", "/");
  const globRegex = (glob: string) => new RegExp(`^${glob.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join("[^/]*")}$`);

  it("has @azure/functions as a runtime dependency", () => {
    expect(pkg.dependencies["@azure/functions"]).toBeDefined();
    expect(pkg.devDependencies?.["@azure/functions"]).toBeUndefined();
  });

  it("matches every compiled function file with package.json main after npm run build", () => {
    expect(pkg.main).toBe("dist/functions/*.js");
    const main = globRegex(pkg.main);

    for (const file of functionFiles) expect(emitted(`functions/${file}`), file).toMatch(main);
    expect(emitted("shared/runtime/services.ts")).not.toMatch(main);
  });

  it("builds every function file (tsconfig.build.json includes them and excludes none)", () => {
    expect(build.include).toContain("functions/**/*.ts");
    for (const excluded of build.exclude ?? []) expect(String(excluded).startsWith("functions/"), excluded).toBe(false);
  });

  it("imports every registering function module in functions/all.ts, so the local runner serves what Azure serves", () => {
    const all = readFileSync(join(root, "functions/all.ts"), "utf8");
    const registering = functionFiles.filter((f) => f !== "register.ts" && /^\s*(http|timer|storageQueue)\(/m.test(readFileSync(join(root, "functions", f), "utf8")));

    expect(registering.length).toBeGreaterThan(5);
    for (const f of registering) expect(all, f).toContain(`import "./${f.replace(/\.ts$/, ".js")}";`);
  });

  it("never reaches test code or build-excluded files from a function module", () => {
    const excluded = new Set((build.exclude as string[]).filter((e) => e.endsWith(".ts")).map((e) => resolve(root, e)));
    const seen = new Set<string>();
    const walk = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = readFileSync(file, "utf8");
      for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+"(\.[^"]+)"|import\(\s*"(\.[^"]+)"\s*\)|(?:^|\n)\s*import\s+"(\.[^"]+)"/g)) {
        const spec = m[1] ?? m[2] ?? m[3];
        const target = resolve(dirname(file), spec.replace(/\.js$/, ".ts"));
        if (existsSync(target)) walk(target);
      }
    };
    for (const f of functionFiles) walk(join(root, "functions", f));

    const reached = [...seen].map((f) => relative(root, f));
    expect(reached.filter((f) => f.startsWith("test/"))).toEqual([]);
    expect([...seen].filter((f) => excluded.has(f)).map((f) => relative(root, f))).toEqual([]);
    expect(reached).toContain("shared/sync/engine.ts");
  });
});

describe("host.json", () => {
  const host = readJson("host.json");

  it("uses extension bundle 4.x for the timer and queue bindings", () => {
    expect(host.version).toBe("2.0");
    expect(host.extensionBundle).toEqual({ id: "Microsoft.Azure.Functions.ExtensionBundle", version: "[4.*, 5.0.0)" });
  });

  it("has the queue settings the local pump mirrors", () => {
    const q = host.extensions.queues;

    expect(q.maxDequeueCount).toBe(HostQueueSettings.maxDequeueCount);
    expect(q.batchSize).toBe(HostQueueSettings.batchSize);
    expect(q.visibilityTimeout).toBe(`00:00:${String(HostQueueSettings.visibilityTimeoutMs / 1000).padStart(2, "0")}`);
    expect(q.maxPollingInterval).toMatch(/^\d\d:\d\d:\d\d$/);
    expect(q.newBatchThreshold).toBeLessThanOrEqual(q.batchSize);
  });

  it("expects base64 messages, which is what the Storage queue adapter sends", () => {
    const message = { runId: "r1", mapping: "mentors", note: "æøå" };

    const sent = encodeQueueMessage(message, "sync-runs");

    expect(host.extensions.queues.messageEncoding).toBe("base64");
    expect(sent).toMatch(/^[A-Za-z0-9+/]+={0,2}$/);
    expect(JSON.parse(Buffer.from(sent, "base64").toString("utf8"))).toEqual(message);
    expect(decodeQueueMessage(sent)).toEqual(message);
  });

  it("prefixes HTTP routes with api, as the local runner does", () => {
    expect(host.extensions.http.routePrefix).toBe("api");
  });
});
