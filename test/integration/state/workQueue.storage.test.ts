import { describe, expect, it } from "vitest";
import { QueueClient } from "@azure/storage-queue";
import { createStorageQueue } from "../../../shared/state/storageQueue.js";
import { azuriteConnectionString, uniqueName } from "../../support/storage.js";
import { runWorkQueueContract, type WorkItem } from "./workQueue.contract.js";

runWorkQueueContract("storage (Azurite)", () => createStorageQueue<WorkItem>({ connectionString: azuriteConnectionString(), name: uniqueName("q") }));

describe("storage work queue wire format", () => {
  it("puts base64-encoded JSON on the wire, as the Functions queue trigger expects", async () => {
    const name = uniqueName("q");
    const queue = await createStorageQueue<WorkItem>({ connectionString: azuriteConnectionString(), name });
    await queue.ensure();

    await queue.send({ mapping: "mentors", ids: ["m-0001"] });

    const raw = await new QueueClient(azuriteConnectionString(), name).peekMessages();
    const text = raw.peekedMessageItems[0].messageText;
    expect(text).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(JSON.parse(Buffer.from(text, "base64").toString("utf8"))).toEqual({ mapping: "mentors", ids: ["m-0001"] });
  });

  it("reads a message another producer sent as plain JSON text", async () => {
    const name = uniqueName("q");
    const queue = await createStorageQueue<WorkItem>({ connectionString: azuriteConnectionString(), name });
    await queue.ensure();
    await new QueueClient(azuriteConnectionString(), name).sendMessage(JSON.stringify({ mapping: "groups", ids: ["g-north"] }));

    const [message] = await queue.receive(1, 30_000);

    expect(message.body).toEqual({ mapping: "groups", ids: ["g-north"] });
  });

  it("rejects a queue name Storage would refuse, naming it", async () => {
    await expect(createStorageQueue({ connectionString: azuriteConnectionString(), name: "Bad_Name" }))
      .rejects.toMatchObject({ kind: "validation", message: expect.stringContaining("Bad_Name") });
  });
});
