import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestEmulator, type TestEmulator } from "../../emulators/dataverse/testSupport.js";

let t: TestEmulator;
beforeAll(async () => {
  t = await startTestEmulator();
});
afterAll(async () => t?.emulator.stop());

const mentorId = () => t.emulator.rows("contact")[0].contactid as string;
const guid = (n: number) => `0d0c0b0a-0000-4000-8000-${String(n).padStart(12, "0")}`;

describe("the emulator's activity tables", () => {
  it("creates a phone call with its party list by deep insert, through the inherited and the suffixed regarding names", async () => {
    const contact = mentorId();
    const res = await t.api("phonecalls", { method: "POST", body: {
      activityid: guid(1), subject: "Hello", "regardingobjectid_contact@odata.bind": `/contacts(${contact})`, "ownerid@odata.bind": "/teams(3c6d0b51-1f2e-4d7a-b0c9-000000000001)",
      phonecall_activity_parties: [{ participationtypemask: 2, "partyid_contact@odata.bind": `/contacts(${contact})` }],
    } });
    const suffixed = await t.api("emails", { method: "POST", body: { activityid: guid(2), subject: "Hi", "regardingobjectid_contact_email@odata.bind": `/contacts(${contact})` } });

    expect([res.status, suffixed.status]).toEqual([204, 204]);
    expect(t.emulator.row("phonecall", guid(1))).toMatchObject({ _regardingobjectid_value: contact, _ownerid_value: "3c6d0b51-1f2e-4d7a-b0c9-000000000001", statecode: 0, statuscode: 1 });
    expect(t.emulator.rows("activityparty").filter((p) => p._activityid_value === guid(1))).toEqual([expect.objectContaining({ participationtypemask: 2, _partyid_value: contact })]);
  });

  it("refuses a party type the activity does not have, and activity parties created on their own", async () => {
    const wrongRole = await t.api("phonecalls", { method: "POST", body: { subject: "x", phonecall_activity_parties: [{ participationtypemask: 5, addressused: "a@b.example" }] } });
    const direct = await t.api("activityparties", { method: "POST", body: { participationtypemask: 1, addressused: "a@b.example" } });

    expect(wrongRole.status).toBe(400);
    expect(direct.status).toBe(400);
    expect(((await direct.json()) as { error: { message: string } }).error.message).toBe("The 'Create' method does not support entities of type 'activityparty'.");
  });

  it("keeps a closed activity read-only, and answers CreateMultiple for task only", async () => {
    await t.api("phonecalls", { method: "POST", body: { activityid: guid(3), subject: "Done" } });
    const close = await t.api(`phonecalls(${guid(3)})`, { method: "PATCH", headers: { "If-Match": "*" }, body: { statecode: 1, statuscode: 2 } });
    const edit = await t.api(`phonecalls(${guid(3)})`, { method: "PATCH", headers: { "If-Match": "*" }, body: { subject: "Changed" } });
    const bulkCall = await t.api("phonecalls/Microsoft.Dynamics.CRM.CreateMultiple", { method: "POST", body: { Targets: [{ "@odata.type": "Microsoft.Dynamics.CRM.phonecall", subject: "b" }] } });
    const bulkTask = await t.api("tasks/Microsoft.Dynamics.CRM.CreateMultiple", { method: "POST", body: { Targets: [{ "@odata.type": "Microsoft.Dynamics.CRM.task", activityid: guid(4), subject: "b" }] } });

    expect([close.status, edit.status, bulkCall.status, bulkTask.status]).toEqual([204, 400, 400, 200]);
    expect(t.emulator.row("phonecall", guid(3))).toMatchObject({ subject: "Done", statecode: 1 });
    expect(t.emulator.row("task", guid(4))).toMatchObject({ subject: "b", statuscode: 2 });
  });

  it("finds system users by internalemailaddress", async () => {
    const res = await t.api("systemusers?$select=systemuserid,internalemailaddress&$filter=internalemailaddress eq 'kari@hlf.example'");

    expect(((await res.json()) as { value: unknown[] }).value).toEqual([expect.objectContaining({ systemuserid: "5a0e0f2c-6a39-4c3e-8d4b-000000000002" })]);
  });
});
