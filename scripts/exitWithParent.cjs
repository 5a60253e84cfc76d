// Preloaded into a child process (`node --require scripts/exitWithParent.cjs …`) whose stdin is a
// pipe from its parent: when that pipe closes, the parent has ended, however it ended (SIGKILL
// included, which no handler sees), and the child exits too instead of running on unowned.
"use strict";
const exit = () => process.exit(0);
process.stdin.on("end", exit);
process.stdin.on("close", exit);
process.stdin.on("error", exit);
process.stdin.resume();
