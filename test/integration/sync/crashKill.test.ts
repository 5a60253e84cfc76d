import { spawn } from "node:child_process";
import { randomInt } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Settings } from "../../../shared/names.js";
import { startEmulatorStack, type EmulatorStack } from "../../../shared/runtime/emulatorStack.js";
import { createTableStateStore } from "../../../shared/state/tableStateStore.js";
import { CrashChildExit, type CrashChildOptions } from "../../support/crashProtocol.js";
import { azuriteConnectionString, uniqueName } from "../../support/storage.js";
import { demoConfig } from "../../support/syncHarness.js";
import { mentorData } from "./faultFixtures.js";

/**
 * The crash test of issue #11: the sync process (test/support/crashChild.ts, the product on Azurite
 * queues and tables) is killed with SIGKILL to its process group at random points of a first load,
 * started again, killed again ... at least MIN_KILLS times in all, then left to finish. Afterwards
 * every record exists exactly once on each side, with its values, and one more run writes nothing.
 *
 * Random but replayable: CRASH_SEED=<seed> picks the same kill points again (the moment a kill lands
 * after its trigger line still depends on timing, as in any real crash); CRASH_VERBOSE=1 prints them
 * when the test passes. The first kill is always the same narrow one (FIRST_KILL). A run left that
 * nothing can finish is noted and passed by with a manual sync: the verdict is on the records.
 */

/**
 * Every run draws a new seed (printed in the test's name for replay); seeds 159195435 and 2067080430
 * found the re-plan race (a Dataverse-born record's app create in flight while a second plan creates
 * its new app record in Dataverse), closed in appWriter.ts (writeKeyBack) and by link claims
 * (dataverseWriter.ts, Link.claim), and pinned down by the race tests in convergence.test.ts.
 * Seed 9998261 (once in about thirty runs) found a third plan that read the second row of that race
 * before its writer deleted it, and created it in the app as a new mentor; such a row is now held
 * pending (decide.ts holdDuplicate), and its race test is in convergence.test.ts too. Seed 863181546
 * found two writers of one create's key write-back: the second met the first's duplicate, and by
 * the time it looked, the key was on its own row (appWriter.ts resolveDuplicateKey: done, not failed).
 * Seed 1247436291 found a plan's update of the original row writing the key while the second row
 * held it (dataverseWriter.ts: decided again after the back-off, not failed at once).
 */
const SEED = process.env.CRASH_SEED && process.env.CRASH_SEED !== "random" ? Number(process.env.CRASH_SEED) : randomInt(2 ** 31);
const MIN_KILLS = 20;
/**
 * A round is one first load in a fresh stack; more rounds run when a load finished before MIN_KILLS
 * (short ones: a load that outruns its kills ends its round within seconds). Three were too few
 * once in about eighty runs on an idle machine (seed 1873219274: 17 kills).
 */
const MAX_ROUNDS = 6;
const APP_BORN = 400;
const DATAVERSE_BORN = 150;
/** Small chunks: many write messages, so kills fall between them as well as inside them. */
const CHUNK_SIZE = 20;
/** After a kill its messages come back this soon (the product's default lease is minutes). */
const LEASE_MS = 2_000;
const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const CHILD_SOURCE = join(ROOT, "test/support/crashChild.ts");
/** The child bundled into one file inside the repository (so its packages resolve from node_modules). */
const BUNDLE_DIR = join(ROOT, ".local", uniqueName("crashchild"));
const CHILD = join(BUNDLE_DIR, "crashChild.mjs");

/** mulberry32: a tiny seeded PRNG, uniform in [0, 1). */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Where a kill lands: as soon as the child prints the `nth` line that starts with `after` (it has
 * just done that step and is about to do the next), or `ms` after it is ready, whichever comes first.
 */
interface KillPlan {
  ms: number;
  after?: string;
  nth?: number;
}

/** Steps worth dying after, with how far into the load (in occurrences) a kill may wait for them. */
const KILL_STEPS: { after: string; upTo: number; why: string }[] = [
  { after: "created", upTo: 2, why: "a run record was created, its run message not yet sent" },
  { after: "handle sync-runs", upTo: 2, why: "a run message was received: planning begins" },
  { after: "send dataverse-writes", upTo: 8, why: "mid-planning: some writes enqueued, cursors not saved" },
  { after: "send app-writes", upTo: 3, why: "mid-planning: app writes enqueued" },
  { after: "cursor mentors", upTo: 2, why: "between the two cursor saves, or before the run is marked writing" },
  { after: "run mentors writing", upTo: 1, why: "planned; no write handled yet" },
  { after: "dataverse writeMany", upTo: 4, why: "a Dataverse bulk write landed, its links not stored" },
  { after: "app create", upTo: 10, why: "an app POST landed, its key write-back and link not done" },
  { after: "dataverse update", upTo: 10, why: "a key write-back landed, its link not stored" },
  { after: "link", upTo: 6, why: "links stored, the write message not completed" },
  { after: "handled dataverse-writes", upTo: 3, why: "a write message handled, not yet deleted from its queue" },
  { after: "handled app-writes", upTo: 2, why: "an app write message handled, not yet deleted from its queue" },
  { after: "complete", upTo: 8, why: "between messages" },
];

/**
 * The first kill of the test always lands right after the first run record is created, before its
 * run message is sent: a window a few milliseconds wide that random kills find only now and then.
 */
const FIRST_KILL: KillPlan = { after: "created", nth: 1, ms: 5_000 };

/**
 * A third of the kills land at a random time, the rest right after a step, or at a random time if
 * that step does not come soon: every child dies, so a round's load lasts for many kills.
 */
function pickKill(rand: () => number): KillPlan {
  if (rand() < 0.3) return { ms: Math.floor(50 + rand() * 1450) };
  const step = KILL_STEPS[Math.floor(rand() * KILL_STEPS.length)];
  return { after: step.after, nth: 1 + Math.floor(rand() * step.upTo), ms: Math.floor(300 + rand() * 1700) };
}

function describePlan(p: KillPlan | undefined): string {
  if (!p) return "no kill";
  if (!p.after) return `kill ${p.ms} ms after ready`;
  return `kill after line #${p.nth} "${p.after}…" (${KILL_STEPS.find((k) => k.after === p.after)?.why}) or ${p.ms} ms after ready`;
}

interface ChildResult {
  plan?: KillPlan;
  killed: boolean;
  /** What set the kill off: the trigger line, or the timer. */
  killedBy?: string;
  code: number | null;
  lines: string[];
  stderr: string;
  ms: number;
}

interface World {
  round: number;
  stack: EmulatorStack;
  options: CrashChildOptions;
  env: NodeJS.ProcessEnv;
  tablePrefix: string;
  appBorn: string[];
  dataverseBorn: Map<string, number>;
  dir: string;
}

/** One sync process: spawned in its own process group, killed by its plan or left to finish. */
function runChild(w: World, plan?: KillPlan, trigger: CrashChildOptions["trigger"] = "timer", largeMappingPlans = false): Promise<ChildResult> {
  const started = Date.now();
  const options: CrashChildOptions = { ...w.options, trigger, largeMappingPlans };
  const child = spawn(process.execPath, [CHILD, JSON.stringify(options)], { cwd: ROOT, env: w.env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  const lines: string[] = [];
  let stderr = "";
  let partial = "";
  let killed = false;
  let killedBy: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  const kill = (by: string) => {
    if (killed || child.exitCode !== null) return;
    killed = true;
    killedBy = by;
    // The whole group: tsx's esbuild service dies with it, as everything does in a real crash.
    process.kill(-child.pid!, "SIGKILL");
  };
  let seen = 0;
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    const parts = (partial + chunk).split("\n");
    partial = parts.pop()!;
    for (const line of parts) {
      if (killed) return;
      lines.push(line);
      if (!plan) continue;
      if (line === "ready") timer = setTimeout(() => kill("timer"), plan.ms);
      else if (plan.after && line.startsWith(plan.after) && ++seen === plan.nth) kill(`line ${lines.length}`);
    }
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => void (stderr = (stderr + chunk).slice(-4000)));
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ plan, killed, killedBy, code, lines, stderr, ms: Date.now() - started });
    });
  });
}

/** A fresh stack with a first load on both sides: app mentors to create in Dataverse, contacts to create in the app. */
async function startWorld(round: number): Promise<World> {
  const stack = await startEmulatorStack({ storageConnectionString: azuriteConnectionString(), seed: true });
  const dir = mkdtempSync(join(tmpdir(), "crash-"));
  const config = demoConfig();
  const configPath = join(dir, "sync.config.json");
  writeFileSync(configPath, JSON.stringify({ ...config, $schema: undefined, options: { ...(config.options ?? {}), chunkSize: CHUNK_SIZE } }));
  const appBorn: string[] = [];
  for (let n = 1; n <= APP_BORN; n++) {
    const { id, data } = mentorData(n);
    stack.app.put("mentor", id, data);
    appBorn.push(id);
  }
  const dataverseBorn = new Map<string, number>();
  for (let n = 1; n <= DATAVERSE_BORN; n++) dataverseBorn.set(stack.dataverse.insert("contact", contactData(n)), n);
  const tablePrefix = uniqueName("crash");
  return {
    round, stack, dir, tablePrefix, appBorn, dataverseBorn,
    // Settings reach the child as app settings do, through its environment (never on its command line).
    env: { ...process.env, ...stack.env, [Settings.syncConfigPath]: configPath },
    options: { tablePrefix, queuePrefix: `${uniqueName("crash")}-`, leaseMs: LEASE_MS, stallMs: 4 * LEASE_MS, maxMs: 60_000 },
  };
}

/** A contact that began in Dataverse (no hlf_mentorid): the sync creates it in the app. */
function contactData(n: number): Record<string, unknown> {
  return {
    firstname: `Dv${n}`, lastname: `Born${n}`, emailaddress1: `dv${n}@example.org`, hlf_certificationstatus: 100000002,
    hlf_certifieduntil: "2028-02-29", hlf_score: n % 100, hlf_ispublic: n % 2 === 0, hlf_hourlyrate: 200 + n / 2,
    "hlf_GroupId@odata.bind": `/hlf_mentorgroups(hlf_groupcode='${n % 2 ? "g-north" : "g-south"}')`,
  };
}

const GROUP_IDS: Record<string, string> = { "g-north": "9b3f6c1e-0d4a-4e5b-8c2d-000000000001", "g-south": "9b3f6c1e-0d4a-4e5b-8c2d-000000000002" };

/** Dataverse write requests (bulk, single and batch parts) and app writes, to prove a run wrote nothing. */
function writeCounts(w: World): { dataverse: number; app: number } {
  const isWrite = (m: string) => m === "POST" || m === "PATCH" || m === "DELETE" || m === "PUT";
  return {
    dataverse: w.stack.dataverse.log.entries().filter((e) => e.status < 400 && isWrite(e.method) && (e.inBatch || !e.path.startsWith("$batch"))).length,
    app: w.stack.app.requests.filter((r) => r.status < 400 && isWrite(r.method)).length,
  };
}

/** Every problem at once, so one failure names all that diverged: duplicates, losses, wrong values, links. */
async function divergence(w: World): Promise<string[]> {
  const problems: string[] = [];
  const contacts = w.stack.dataverse.rows("contact");
  const mentors = w.stack.app.list("mentor");
  const contactsByKey = groupBy(contacts, (c) => String(c.hlf_mentorid ?? ""));
  const mentorsByDv = groupBy(mentors, (m) => m.dataverseId ?? "");
  for (const [key, rows] of contactsByKey) {
    if (!key) problems.push(`${rows.length} contact(s) without hlf_mentorid (key not written back): ${rows.map((r) => r.contactid).join(", ")}`);
    else if (rows.length > 1) problems.push(`mentor ${key} exists ${rows.length} times in Dataverse: ${rows.map((r) => r.contactid).join(", ")}`);
  }
  // Only records the sync created in the app carry a dataverseId (its POST is idempotent on it).
  for (const [dvId, rows] of mentorsByDv) {
    if (dvId && rows.length > 1) problems.push(`contact ${dvId} exists ${rows.length} times in the app: ${rows.map((r) => r.id).join(", ")}`);
  }
  // The pairing: each app mentor's contact carries its id, and each contact's mentor points back at it.
  for (const m of mentors) {
    const c = contactsByKey.get(m.id);
    if (!c) problems.push(`app mentor ${m.id} is missing in Dataverse`);
    else if (m.dataverseId && c[0].contactid !== m.dataverseId) problems.push(`app mentor ${m.id} points at contact ${m.dataverseId}, but its contact is ${String(c[0].contactid)}`);
  }
  const mentorIds = new Set(mentors.map((m) => m.id));
  for (const c of contacts) if (c.hlf_mentorid && !mentorIds.has(String(c.hlf_mentorid))) problems.push(`contact ${String(c.contactid)} names mentor ${String(c.hlf_mentorid)}, which the app does not have`);
  for (const dvId of w.dataverseBorn.keys()) if (!mentorsByDv.has(dvId)) problems.push(`contact ${dvId} (born in Dataverse) is missing in the app`);
  // Values, on the side each record was created on by the sync.
  for (const [i, id] of w.appBorn.entries()) {
    const c = contactsByKey.get(id)?.[0];
    if (!c) continue;
    const { data } = mentorData(i + 1);
    const expected = {
      firstname: data.firstName, lastname: data.lastName, emailaddress1: data.email, hlf_certificationstatus: 100000000, hlf_certifieduntil: data.certifiedUntil,
      hlf_score: data.score, hlf_hourlyrate: data.hourlyRate, hlf_ispublic: data.isPublic, _hlf_groupid_value: GROUP_IDS[String(data.groupId)],
    };
    const wrong = Object.entries(expected).filter(([k, v]) => c[k] !== v).map(([k, v]) => `${k}=${JSON.stringify(c[k])} (expected ${JSON.stringify(v)})`);
    if (wrong.length) problems.push(`contact of ${id}: ${wrong.join(", ")}`);
  }
  for (const [dvId, n] of w.dataverseBorn) {
    const m = mentorsByDv.get(dvId)?.[0];
    if (!m) continue;
    const src = contactData(n);
    const expected = {
      firstName: src.firstname, lastName: src.lastname, email: src.emailaddress1, certificationStatus: "pending", certifiedUntil: src.hlf_certifieduntil,
      score: src.hlf_score, hourlyRate: src.hlf_hourlyrate, isPublic: src.hlf_ispublic, groupId: n % 2 ? "g-north" : "g-south",
    };
    const wrong = Object.entries(expected).filter(([k, v]) => m.data?.[k] !== v).map(([k, v]) => `${k}=${JSON.stringify(m.data?.[k])} (expected ${JSON.stringify(v)})`);
    if (wrong.length) problems.push(`app mentor ${m.id} (from contact ${dvId}): ${wrong.join(", ")}`);
  }
  // The sync's own state: one link per pair, naming that pair; nothing left failed or parked.
  const state = await createTableStateStore({ connectionString: azuriteConnectionString(), tablePrefix: w.tablePrefix, allowInsecureConnection: true });
  const links = new Map<string, string[]>();
  for await (const l of state.listLinks("mentors")) links.set(l.appId, [...(links.get(l.appId) ?? []), l.dataverseId]);
  for (const m of mentors) {
    const linked = links.get(m.id) ?? [];
    const contactId = contactsByKey.get(m.id)?.[0]?.contactid;
    if (contactId === undefined) continue; // reported above as missing
    if (linked.length !== 1 || linked[0] !== contactId) problems.push(`link of ${m.id}: ${JSON.stringify(linked)} (expected ["${String(contactId)}"])`);
  }
  for (const appId of links.keys()) if (!mentors.some((m) => m.id === appId)) problems.push(`link of ${appId}, which the app does not have`);
  for (const d of await state.listDeadLetters({ limit: 1000 })) problems.push(`dead letter ${d.id}: ${d.code} ${d.message}`);
  for (const c of await state.listConflicts({ status: "open" })) problems.push(`open conflict ${c.id}`);
  return problems;
}

/** Problems counted by shape (ids blanked), then the first few in full: a lost load stays readable. */
function problemReport(problems: string[]): string {
  const shapes = new Map<string, number>();
  for (const p of problems) {
    const shape = p.replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, "<id>").replace(/m-\d+/g, "<mentor>").replace(/\d+/g, "<n>").slice(0, 140);
    shapes.set(shape, (shapes.get(shape) ?? 0) + 1);
  }
  return [`${problems.length} problem(s), by kind:`, ...[...shapes].map(([shape, n]) => `  ${n} x ${shape}`), "first ones:", ...problems.slice(0, 15).map((p) => `  ${p}`)].join("\n");
}

function groupBy<T>(items: T[], key: (t: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const t of items) out.set(key(t), [...(out.get(key(t)) ?? []), t]);
  return out;
}

/** One line per child for the failure message: what it was told, what it had printed last. */
function historyLine(w: World, r: ChildResult, i: number): string {
  const tail = r.lines.slice(-4).join(" | ");
  const how = r.killed ? `killed (${r.killedBy})` : `exit ${r.code}`;
  return `round ${w.round} child ${i}: ${describePlan(r.plan)} -> ${how} after ${r.ms} ms, ${r.lines.length} lines; last: ${tail}`;
}

describe(`crash test (seed ${SEED}; replay with CRASH_SEED=${SEED})`, () => {
  const worlds: World[] = [];
  beforeAll(async () => {
    mkdirSync(BUNDLE_DIR, { recursive: true });
    await build({ entryPoints: [CHILD_SOURCE], outfile: CHILD, bundle: true, platform: "node", format: "esm", packages: "external", logLevel: "warning" });
  });
  afterAll(async () => {
    for (const w of worlds) {
      await w.stack.stop();
      rmSync(w.dir, { recursive: true, force: true });
    }
    rmSync(BUNDLE_DIR, { recursive: true, force: true });
  });

  it(`loses and duplicates nothing when the sync process is SIGKILLed ${MIN_KILLS}+ times during first loads`, async () => {
    const rand = mulberry32(SEED);
    const history: string[] = [];
    const context = () => `seed ${SEED} (replay: CRASH_SEED=${SEED})\n${history.join("\n")}`;
    let kills = 0;
    for (let round = 1; kills < MIN_KILLS && round <= MAX_ROUNDS; round++) {
      const w = await startWorld(round);
      worlds.push(w);
      // Kill and restart until enough kills landed, then let a child finish the load.
      let trigger: CrashChildOptions["trigger"] = "timer";
      for (let i = 1; ; i++) {
        const plan = kills === 0 ? FIRST_KILL : kills < MIN_KILLS ? pickKill(rand) : undefined;
        // Every other process plans complete reads as for a large mapping (compact rows, link digests).
        const large = i % 2 === 0;
        const r = await runChild(w, plan, trigger, large);
        history.push(historyLine(w, r, i) + (trigger === "manual" ? " (manual run)" : "") + (large ? " (large-mapping plans)" : ""));
        if (r.killed) {
          trigger = "timer";
          kills++;
          continue;
        }
        if (r.code === CrashChildExit.stalled && trigger === "timer") {
          // A run that nothing can finish any more (every queue empty): the product lets the timer
          // pass it by after 30 minutes. Noted, then recovered at once the way an operator would,
          // with a manual sync. What matters is that no record is lost or duplicated on the way.
          history.push(...r.lines.filter((l) => l.startsWith("stalled")).map((l) => `  note: ${l}`));
          trigger = "manual";
          continue;
        }
        expect(r.code, `the sync process did not settle\n${r.lines.slice(-10).join("\n")}\n${r.stderr}\n${context()}`).toBe(CrashChildExit.settled);
        break;
      }
      // One more run on the converged state: it starts new delta runs, which find nothing to write.
      const before = writeCounts(w);
      const clean = await runChild(w);
      history.push(historyLine(w, clean, 0) + " (clean run)");
      expect(clean.code, `the clean run did not settle\n${clean.lines.slice(-10).join("\n")}\n${clean.stderr}\n${context()}`).toBe(CrashChildExit.settled);
      expect.soft(writeCounts(w), `the run after convergence wrote\n${clean.lines.filter((l) => l.startsWith("finished")).join("\n")}\n${context()}`).toEqual(before);
      const problems = await divergence(w);
      expect(problems.length, `${problemReport(problems)}\n${context()}`).toBe(0);
    }
    expect(kills, context()).toBeGreaterThanOrEqual(MIN_KILLS);
    // Replaying a seed shows every kill point even when the test passes.
    if (process.env.CRASH_SEED || process.env.CRASH_VERBOSE) console.log(context());
  }, 170_000);
});
