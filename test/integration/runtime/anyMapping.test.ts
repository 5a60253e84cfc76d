/**
 * `npm start -- --config <file> --seed <entity>=<file>` runs the whole local stack for a mapping
 * that is not the demo's: the CMMS case's assets, keyed by `msdyn_assetnumber`, with decimals and a
 * datetime, their Dynamics id and creation time filled in back to the app, and purchase orders with
 * a status pair (examples/cmms). Real parts: Azurite from npm, the Dataverse emulator with tables made
 * from the mapping, the generic App Sync API server seeded from a CSV file, tokens from the local
 * endpoint through @azure/identity.
 */
import { ClientSecretCredential } from "@azure/identity";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parseEnvFile } from "../../../shared/runtime/environment.js";
import { freePort } from "../../support/azurite.js";
import { killStarted, marked, markedRunning, root, startCli, until, type Started } from "./stackProcess.js";

const CMMS = join(root, "examples/cmms");
const ASSETS = "msdyn_customerassets";

afterEach(() => killStarted());

/** The stack's settings and the person's credentials, as a user reads them from `.local/stack.env`. */
function stackEnv(s: Started): Record<string, string> {
  return parseEnvFile(readFileSync(join(s.cwd, ".local/stack.env"), "utf8"));
}

/** A Web API client signed in as one of the stack's users (client credentials at the local token endpoint). */
function webApi(env: Record<string, string>, clientId: string, clientSecret: string) {
  const credential = new ClientSecretCredential(env.DYNAMICS_TENANT_ID, clientId, clientSecret, {
    authorityHost: env.DYNAMICS_AUTHORITY_HOST, disableInstanceDiscovery: true,
  });
  return async (method: string, path: string, body?: unknown): Promise<Response> => {
    const token = await credential.getToken(`${env.DYNAMICS_INSTANCE_URL}/.default`);
    return fetch(`${env.DYNAMICS_INSTANCE_URL}/api/data/v9.2/${path}`, {
      method,
      headers: { authorization: `Bearer ${token!.token}`, "content-type": "application/json", accept: "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  };
}

async function appRecord(env: Record<string, string>, entity: string, id: string): Promise<{ data: Record<string, unknown> }> {
  const res = await fetch(`${env.APP_BASE_URL}/sync/${entity}/${id}`, { headers: { authorization: `Bearer ${env.APP_API_KEY}` } });
  expect(res.status).toBe(200);
  return (await res.json()) as { data: Record<string, unknown> };
}

// Each test starts the whole stack in processes of its own: slow on a busy two-core machine.
describe("npm start -- --config <any mapping>", { timeout: 180_000 }, () => {
  it("syncs the CMMS assets from a seed CSV to tables made from the mapping, and a person's edit in Dataverse reaches the app", async () => {
    const port = await freePort();
    const s = startCli({ PORT: String(port) }, [
      "start", "--config", join(CMMS, "sync.config.json"), "--seed", `assets=${join(CMMS, "assets.csv")}`,
      "--seed", `purchaseOrders=${join(CMMS, "purchase-orders.csv")}`,
    ]);
    await until(() => s.output().includes("syncing on schedule") || s.output().includes("could not start"), () => `start-up; output so far:\n${s.output()}`);
    const env = stackEnv(s);
    const integration = webApi(env, env.DYNAMICS_CLIENT_ID, env.DYNAMICS_CLIENT_SECRET);
    const person = webApi(env, env.EMULATOR_PERSON_CLIENT_ID, env.EMULATOR_PERSON_CLIENT_SECRET);

    // The first sync: every seeded asset is created in Dataverse, found by its natural key.
    const read = await integration("GET", `${ASSETS}?$select=msdyn_assetnumber,msdyn_name,cmms_purchaseprice,cmms_ratedpowerkw,cmms_lastserviceat,cmms_criticality,msdyn_customerassetid,createdon&$orderby=msdyn_assetnumber`);
    const rows = ((await read.json()) as { value: Record<string, unknown>[] }).value;
    const orders = ((await (await integration("GET", "msdyn_purchaseorders?$select=msdyn_name,cmms_total,statecode,statuscode&$orderby=msdyn_name")).json()) as { value: Record<string, unknown>[] }).value;
    // Values Dataverse filled in for the rows the sync created reach the app records.
    const pump = await appRecord(env, "asset", "ast-1");
    const pumpRow = rows.find((r) => r.msdyn_assetnumber === "A-1001")!;
    const boiler = rows.find((r) => r.msdyn_assetnumber === "A-1003")!;
    const compressor = rows.find((r) => r.msdyn_assetnumber === "A-1005")!;
    const whoAmI = (await (await integration("GET", "WhoAmI")).json()) as { UserId: string };

    // A person (not the integration's user) edits a row in Dynamics.
    const edit = await person("PATCH", `${ASSETS}(msdyn_assetnumber='A-1003')`, { cmms_purchaseprice: 150000.25, cmms_lastserviceat: "2026-12-01T06:45:00Z" });
    const edited = (await (await person("GET", `${ASSETS}(msdyn_assetnumber='A-1003')?$select=_modifiedby_value`)).json()) as { _modifiedby_value: string };
    await until(async () => (await appRecord(env, "asset", "ast-3")).data.purchasePrice === 150000.25, () => `the edit to reach the app; output:\n${s.output()}`);
    const synced = await appRecord(env, "asset", "ast-3");

    expect(s.output()).toContain("tables made from the mapping file");
    expect(s.output()).toContain("first sync succeeded: written 8,");
    expect(rows.map((r) => r.msdyn_assetnumber)).toEqual(["A-1001", "A-1002", "A-1003", "A-1004", "A-1005"]);
    expect(orders.map((o) => [o.msdyn_name, o.cmms_total, o.statecode, o.statuscode])).toEqual([
      ["PO-2026-001", 1499.9, 0, 1], ["PO-2026-002", 23750, 0, 100000001], ["PO-2026-003", 318.45, 1, 100000002],
    ]);
    expect(pump.data).toMatchObject({ dynamicsId: pumpRow.msdyn_customerassetid, createdInDynamicsAt: new Date(String(pumpRow.createdon)).toISOString().replace(/\.\d{3}Z$/, "Z") });
    expect(boiler).toMatchObject({ msdyn_name: "Boiler 1", cmms_purchaseprice: 148900.5, cmms_ratedpowerkw: 1250, cmms_lastserviceat: "2025-11-20T07:15:00Z", cmms_criticality: 100000002 });
    expect(compressor.cmms_lastserviceat).toBe("2026-01-09T09:45:00Z");
    expect(edit.status).toBe(204);
    expect(edited._modifiedby_value).toBe(env.EMULATOR_PERSON_USER_ID);
    expect(env.EMULATOR_PERSON_USER_ID).not.toBe(whoAmI.UserId);
    expect(synced.data).toMatchObject({ assetNumber: "A-1003", purchasePrice: 150000.25, lastServiceAt: "2026-12-01T06:45:00Z", criticality: "high" });
  });

  it("stops Azurite and every other process it started when npm start is killed with SIGKILL", async () => {
    const port = await freePort();
    const s = startCli({ PORT: String(port) }, ["start", "--config", join(CMMS, "sync.config.json")]);
    await until(() => s.output().includes("syncing on schedule") || s.output().includes("could not start"), () => `start-up; output so far:\n${s.output()}`);
    const azurite = markedRunning(s.marker, "azurite");

    process.kill(s.child.pid!, "SIGKILL");
    await until(() => marked(s.marker).length === 0, () => `the stack to follow its parent: ${marked(s.marker).join(", ")}`, 60_000);

    expect(azurite.length).toBe(1);
    expect(marked(s.marker)).toEqual([]);
    expect(existsSync(join(s.cwd, ".local/stack.env"))).toBe(false);
  });

  it("exits 1 naming what is missing when a schema file does not fit the mapping, leaving nothing running", async () => {
    const s = startCli({ PORT: String(await freePort()) }, [
      "start", "--config", join(CMMS, "sync.config.json"), "--schema", join(root, "test/emulators/dataverse/demo-schema.json"),
    ]);

    const code = await s.exited;
    await until(() => marked(s.marker).length === 0, () => `children to exit: ${marked(s.marker).join(", ")}`, 60_000);

    expect(code).toBe(1);
    expect(s.output()).toContain("d365-sync could not start: the schema");
    expect(s.output()).toContain("the schema has no table with entity set msdyn_customerassets");
    expect(s.output()).not.toContain("    at ");
  });
});
