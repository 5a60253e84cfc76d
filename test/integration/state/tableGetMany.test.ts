import { TableClient } from "@azure/data-tables";
import type { PipelineRequest } from "@azure/core-rest-pipeline";
import { afterEach, describe, expect, it } from "vitest";
import { getMany } from "../../../shared/state/tableSupport.js";
import { azuriteConnectionString, uniqueName } from "../../support/storage.js";

let client: TableClient | undefined;
afterEach(async () => {
  await client?.deleteTable();
  client = undefined;
});

/** A table on Azurite with `n` entities in partition `p`, and the requests its client sends from now on. */
async function tableWith(n: number): Promise<{ client: TableClient; requests: PipelineRequest[] }> {
  client = TableClient.fromConnectionString(azuriteConnectionString(), uniqueName("getmany"), { allowInsecureConnection: true });
  await client.createTable();
  const actions = Array.from({ length: n }, (_, i) => ["create", { partitionKey: "p", rowKey: `a|${i}`, value: i }] as ["create", { partitionKey: string; rowKey: string; value: number }]);
  await client.submitTransaction(actions);
  // Another partition holding the same row keys: never returned for partition p.
  await client.createEntity({ partitionKey: "q", rowKey: "a|0", value: -1 });
  const requests: PipelineRequest[] = [];
  client.pipeline.addPolicy({ name: "record", sendRequest: (req, next) => (requests.push(req), next(req)) });
  return { client, requests };
}

describe("getMany (the link table's batch read)", () => {
  it("reads each row key of a partition with a point read, never a query that ORs row keys (a partition scan in the service)", async () => {
    const { client, requests } = await tableWith(30);
    const wanted = [...Array.from({ length: 30 }, (_, i) => `a|${i}`), "a|missing", "a|3"];

    const rows = await getMany(client, "p", wanted, "read links");

    expect(rows.map((r) => r.value).sort((a, b) => Number(a) - Number(b))).toEqual(Array.from({ length: 30 }, (_, i) => i));
    expect(rows.every((r) => r.partitionKey === "p")).toBe(true);
    // One request per distinct key (the duplicate is read once), each addressed by its keys, none a $filter.
    expect(requests).toHaveLength(31);
    for (const req of requests) {
      expect(req.method).toBe("GET");
      expect(decodeURIComponent(req.url)).toMatch(/\(PartitionKey='p',RowKey='a\|[^']+'\)/);
      expect(req.url).not.toContain("$filter");
    }
  });

  it("returns nothing for keys of which none exists, and nothing at all for no keys", async () => {
    const { client, requests } = await tableWith(1);

    expect(await getMany(client, "p", ["a|x", "a|y"], "read links")).toEqual([]);
    expect(await getMany(client, "p", [], "read links")).toEqual([]);
    expect(requests).toHaveLength(2);
  });
});
