// A process that starts Azurite the way the local stack does and then waits: the test kills it
// with SIGKILL, which runs no handler, and checks that Azurite does not outlive it.
import { startAzurite } from "../../support/azurite.js";

const azurite = await startAzurite();
console.log(`azurite ${azurite.tablePort}`);
setInterval(() => undefined, 60_000);
