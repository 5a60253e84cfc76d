import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CONFLICT_APP_ID, CONFLICT_CONTACT, PENDING_APP_ID, seedOperatorWork, startAdminStack, type AdminStack } from "./adminStack.js";

/** Debian's chromium (`.ci/run` installs it). */
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
/** `D365_SYNC_SCREENSHOTS=1` refreshes the pictures in docs/images; otherwise they go to a temporary folder. */
const shots = process.env.D365_SYNC_SCREENSHOTS === "1" ? resolve(import.meta.dirname, "../../../docs/images") : mkdtempSync(join(tmpdir(), "d365-shots-"));

let a: AdminStack;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: install Debian's chromium package (apt-get install chromium) or set CHROMIUM_PATH`);
  a = await startAdminStack();
  await seedOperatorWork(a);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
  page = await browser.newPage({ acceptDownloads: true, viewport: { width: 1280, height: 900 } });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await a?.stop();
});

/** Reloads the dashboard's data after the runner has done the queued work, and waits for it. */
async function refreshAfterWork(): Promise<void> {
  await a.runner.idle();
  await reload();
}

/** A click on Refresh (which also cancels the reload an action scheduled), and the load it starts, done. */
async function reload(): Promise<void> {
  await page.click("#refresh");
  await page.waitForSelector('#console[aria-busy="false"]', { state: "attached" });
}

describe("the operator dashboard in headless Chromium, against the local stack", () => {
  it("asks for the admin key once, then shows every mapping's health", async () => {
    const requests: string[] = [];
    page.on("request", (r) => requests.push(r.url()));
    await page.goto(`${a.runner.url}/api/admin`);
    await page.waitForSelector("#login:not([hidden])");

    await page.fill("#key", a.adminKey);
    await page.click("#login button[type=submit]");
    await page.waitForSelector("#health tbody tr");

    const rows = await page.$$eval("#health tbody tr", (trs) => trs.map((tr) => `${tr.getAttribute("data-mapping")} ${tr.getAttribute("data-direction")}`));
    expect(rows.sort()).toEqual(["groups toApp", "groups toDataverse", "mentors toApp", "mentors toDataverse"]);
    expect(await page.$$eval("#connectivity .chip.ok", (c) => c.length)).toBe(3);
    const pendingFigures = await page.$$eval("#health tbody tr", (trs) => trs.map((tr) => `${tr.getAttribute("data-mapping")} ${tr.querySelector("[data-pending-figure]")!.textContent}`));
    expect(pendingFigures.filter((f) => f.startsWith("groups"))).toEqual(["groups 0", "groups 0"]);
    // The pending record and the parked conflict wait toward Dataverse.
    expect(pendingFigures.filter((f) => f.startsWith("mentors")).sort()).toEqual(["mentors 0", expect.stringMatching(/^mentors 2 \(oldest \d+ (s|min)\)$/)]);
    expect(await page.textContent('#connectivity .chip.warn[data-check="credential"]')).toMatch(/^Credential: 10 days left \(\d{4}-\d{2}-\d{2}\)$/);
    expect(requests.some((u) => u.includes(a.adminKey))).toBe(false);
    await page.reload();
    await page.waitForSelector("#health tbody tr");
    expect(await page.isHidden("#login")).toBe(true);
    await page.screenshot({ path: join(shots, "admin-dashboard.png"), fullPage: true });
  });

  it("retries the pending record: once its value is fixed and it has synced, its row is gone", async () => {
    const row = `#pending tr[data-pending="${PENDING_APP_ID}"]`;
    await page.waitForSelector(row);
    a.stack.app.patch("mentor", PENDING_APP_ID, { certificationStatus: "expired" });

    await page.click(`${row} button[data-action=retry]`);
    await page.locator("#status", { hasText: "Retry queued." }).waitFor();
    await refreshAfterWork();

    await page.waitForSelector(row, { state: "detached" });
    const contact = a.stack.dataverse.rows("contact").find((r) => r.hlf_mentorid === PENDING_APP_ID)!;
    expect(contact.hlf_certificationstatus).toBe(100000001);
  });

  it("resolves the conflict per field, and both systems hold the chosen values", async () => {
    const box = `.conflict[data-conflict="${CONFLICT_APP_ID}"]`;
    await page.waitForSelector(box);
    await page.locator(box).screenshot({ path: join(shots, "admin-conflict.png") });

    await page.check(`${box} tr[data-field=score] input[value=dataverse]`);
    await page.check(`${box} tr[data-field=firstName] input[value=app]`);
    // A reload while the operator chooses (an action's own reload comes a second after it) keeps the choices.
    await reload();
    expect(await page.isChecked(`${box} tr[data-field=score] input[value=dataverse]`)).toBe(true);
    await page.click(`${box} button[data-action=resolve-fields]`);
    await page.locator("#status", { hasText: "Resolution queued." }).waitFor();
    await refreshAfterWork();

    await page.waitForSelector(box, { state: "detached" });
    // Both writes come from the re-read the resolution queued, which the runner has done by now; if a
    // side still differs, the failure shows the ledger and the queues.
    const settled = () => ({ app: a.stack.app.get("mentor", CONFLICT_APP_ID)!.data, contact: a.stack.dataverse.row("contact", CONFLICT_CONTACT) });
    await expect.poll(settled, { timeout: 10_000, interval: 100 }).toMatchObject({ app: { score: 11, firstName: "Ingrid-App" }, contact: { hlf_score: 11, firstname: "Ingrid-App" } })
      .catch(async (e: unknown) => {
        const pending = await a.call("GET", "/api/pending?mapping=mentors");
        const conflicts = await a.call("GET", "/api/conflicts?mapping=mentors");
        throw new Error(`${String(e)}\npending: ${pending.text}\nconflicts: ${conflicts.text}\nmessages waiting: ${JSON.stringify(await Promise.all([a.services.queues.dataverseWrites, a.services.queues.appWrites].map((q) => q.approximateCount())))}`);
      });
  });

  it("serves the tenant its URL names: every route call carries it, and an unregistered tenant shows no data", async () => {
    const calls: string[] = [];
    const onRequest = (r: { url(): string }) => void calls.push(r.url());
    // Off the previous page first: its refresh's calls (no tenant named) may still be under way.
    await page.goto("about:blank");
    page.on("request", onRequest);
    await page.goto(`${a.runner.url}/api/admin?tenant=default`);
    await page.waitForSelector("#health tbody tr");
    const routes = calls.filter((u) => /\/api\/(health|sync\/runs|pending|conflicts|admin\/connectivity)\b/.test(u));
    expect(routes.length).toBeGreaterThanOrEqual(5);
    expect(routes.filter((u) => new URL(u).searchParams.get("tenant") !== "default")).toEqual([]);
    // No tenant is registered: the picker stays hidden.
    expect(await page.isHidden("#tenant")).toBe(true);

    await page.goto(`${a.runner.url}/api/admin?tenant=nosuch`);
    await page.locator("#status", { hasText: "Could not load" }).waitFor({ state: "attached" });
    expect(await page.textContent("#status")).toContain('tenant "nosuch"');
    page.off("request", onRequest);
    await page.goto(`${a.runner.url}/api/admin`);
    await page.waitForSelector("#health tbody tr");
  });

  it("downloads a CSV export of a mapping", async () => {
    const [download] = await Promise.all([page.waitForEvent("download"), page.click('button[data-export="mentors"]')]);
    const file = join(mkdtempSync(join(tmpdir(), "d365-export-")), download.suggestedFilename());
    await download.saveAs(file);

    const bytes = readFileSync(file);
    expect(download.suggestedFilename()).toBe("mentors-dataverse.csv");
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    expect(bytes.subarray(3).toString("utf8").split(/\r?\n/)[0]).toMatch(/^contactid,hlf_mentorid,firstname/);
  });
});
