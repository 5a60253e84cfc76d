import { createTableStateStore } from "../../../shared/state/tableStateStore.js";
import { azuriteConnectionString, uniqueName } from "../../support/storage.js";
import { runPayloadStoreContract } from "./payloadStore.contract.js";

runPayloadStoreContract("table (Azurite)", async () => {
  const store = await createTableStateStore({ connectionString: azuriteConnectionString(), tablePrefix: uniqueName("t") });
  await store.ensureTables();
  return store.payloads!;
});
