import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { isConfigError } from "../../../shared/config/configError.js";
import { coordinatorEndpoints } from "../../../shared/ops/coordinators.js";
import { configWithMentors } from "../sync/syncFixtures.js";
import { startSyncHarness, type SyncHarness } from "../../support/syncHarness.js";

type Body = Record<string, unknown>;

/** An incoming-webhook receiver (what Teams or Slack would be) on loopback, one per path. */
async function receiver(): Promise<{ url: (path: string) => string; bodies: (path: string) => Body[]; close: () => Promise<void> }> {
  const got = new Map<string, Body[]>();
  const server: Server = createServer((req, res) => {
    let text = "";
    req.on("data", (c) => (text += c));
    req.on("end", () => {
      got.set(req.url!, [...(got.get(req.url!) ?? []), JSON.parse(text) as Body]);
      res.writeHead(200).end("1");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url: (p) => `${base}${p}`, bodies: (p) => got.get(p) ?? [], close: () => new Promise<void>((r) => server.close(() => r())) };
}

/** The demo mentors with certificationStatus critical and coordinators of their own. */
const criticalMentors = () => configWithMentors((m) => {
  const fields = m.fields as { app: string; critical?: boolean }[];
  fields.find((f) => f.app === "certificationStatus")!.critical = true;
  m.notify = { webhookUrlSetting: "MENTOR_COORDINATORS_WEBHOOK" };
});

describe("typed notifications to the operators and a mapping's coordinators", () => {
  let h: SyncHarness | undefined;
  let hooks: Awaited<ReturnType<typeof receiver>> | undefined;
  afterEach(async () => {
    await h?.stop();
    await hooks?.close();
    h = hooks = undefined;
  });

  async function start(env: Record<string, string> = {}) {
    hooks = await receiver();
    h = await startSyncHarness({
      config: criticalMentors(),
      env: { NOTIFY_WEBHOOK_URL: hooks.url("/ops/T000/B000/XXXX"), MENTOR_COORDINATORS_WEBHOOK: hooks.url("/coordinators/T111/B111/YYYY"), ...env },
    });
    return { ops: () => hooks!.bodies("/ops/T000/B000/XXXX"), coordinators: () => hooks!.bodies("/coordinators/T111/B111/YYYY") };
  }

  it("a record failing while it carries a critical field notifies both, with the field named", async () => {
    const { ops, coordinators } = await start();
    await h!.cycle();
    h!.stack.app.patch("mentor", "m-0001", { certificationStatus: "lapsed-unknown" });

    await h!.cycle();

    const critical = { source: "d365-sync", event: "critical_field_failed", mapping: "mentors", direction: "toDataverse", recordId: "m-0001", fields: ["certificationStatus"], code: "UNMAPPABLE_VALUE" };
    expect(coordinators().filter((b) => b.event === "critical_field_failed")).toEqual([expect.objectContaining(critical)]);
    expect(ops().filter((b) => b.event === "critical_field_failed")).toEqual([expect.objectContaining(critical)]);
    expect(String(coordinators()[0].text)).toBe("d365-sync: mentors record m-0001 did not sync to Dataverse (UNMAPPABLE_VALUE); it carries the critical field(s) certificationStatus");
    expect(coordinators().map((b) => b.event)).toEqual(["critical_field_failed", "records_failed"]);
    for (const body of [...ops(), ...coordinators()]) {
      expect(typeof body.text).toBe("string");
      expect(JSON.stringify(body)).not.toMatch(/T000|T111|XXXX|YYYY/);
    }
  });

  it("a failure on other fields only does not name critical fields, and another mapping's events go to the operators only", async () => {
    const { ops, coordinators } = await start();
    await h!.cycle();
    h!.stack.app.patch("mentor", "m-0001", { certifiedUntil: "not-a-date" });

    await h!.cycle();

    expect([...ops(), ...coordinators()].some((b) => b.event === "critical_field_failed")).toBe(false);
    expect(coordinators().map((b) => b.event)).toEqual(["records_failed"]);
    expect(ops().every((b) => b.mapping !== "groups")).toBe(true);
  });

  it("a reconciliation that finds a critical field diverged notifies divergence_detected with it", async () => {
    const { ops, coordinators } = await start();
    await h!.cycle();
    const other = h!.stack.app.get("mentor", "m-0002")!.data!.certificationStatus === "expired" ? "active" : "expired";
    expect(h!.stack.app.patchOutsideFeed("mentor", "m-0002", { certificationStatus: other })).toBe(true);

    await h!.cycle({ reconcile: true, mapping: "mentors" });

    const divergence = { event: "divergence_detected", mapping: "mentors", records: 1, fields: { certificationStatus: 1 }, criticalFields: ["certificationStatus"] };
    expect(coordinators()).toEqual([expect.objectContaining(divergence)]);
    expect(ops()).toEqual([expect.objectContaining(divergence)]);
  });

  it("a credential within the warning days is announced once, to the operators", async () => {
    const expiresOn = new Date(Date.now() + 10.5 * 86_400_000).toISOString();
    const { ops, coordinators } = await start({ DYNAMICS_CREDENTIAL_EXPIRES_ON: expiresOn });

    await h!.cycle();
    await h!.cycle();

    expect(ops().filter((b) => b.event === "credential_expiring")).toEqual([
      expect.objectContaining({ event: "credential_expiring", kind: "setting", expiresOn, daysLeft: 10, warningDays: 30 }),
    ]);
    expect(coordinators()).toEqual([]);
  });

  it("stops start-up naming a coordinators' setting that is missing or not a URL, never its value", () => {
    const config = { mappings: [{ name: "mentors", notify: { webhookUrlSetting: "MENTOR_HOOK" } }, { name: "groups", notify: { webhookUrlSetting: "GROUP_HOOK" } }] } as never;

    const thrown = (() => { try { coordinatorEndpoints(config, { GROUP_HOOK: "ftp://hooks.example.org/secret-token-123" }); } catch (e) { return e; } })();

    expect(isConfigError(thrown)).toBe(true);
    const message = (thrown as Error).message;
    expect(message).toContain('MENTOR_HOOK: required by mapping "mentors"');
    expect(message).toContain('GROUP_HOOK (mapping "groups"): must be an https:// URL');
    expect(message).not.toContain("secret-token-123");
  });
});
