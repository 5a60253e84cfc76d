import { createTableStateStore } from "../../../shared/state/tableStateStore.js";
import { azuriteConnectionString, uniqueName } from "../../support/storage.js";
import { runStateStoreContract } from "./stateStore.contract.js";

runStateStoreContract("table (Azurite)", async () => {
  const store = await createTableStateStore({ connectionString: azuriteConnectionString(), tablePrefix: uniqueName("t") });
  await store.ensureTables();
  return store;
});
