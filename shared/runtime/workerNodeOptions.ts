/**
 * V8 options the sync process runs with, in Azure (the Function app's NODE_OPTIONS, infra/app/
 * function.bicep) and locally (`npm run sync`, the benchmark's sync workers).
 *
 * A run's live data stays small and flat however many records it moves (about 40 MB of heap at
 * 20,000 records: the planner streams the app's feed page by page, write messages are applied as
 * they are queued), but it allocates a lot of short-lived garbage: pages of JSON, bulk bodies of 500
 * records, their answers. On a machine with plenty of memory V8 sizes its young generation for
 * that (semi-spaces up to 16 MB or more, tripled for the young generation), and the process then
 * sits near 250 MB. Semi-spaces of 4 MB keep it near 150 MB at the same throughput (measured with
 * `npm run bench`), which matters on a Flex Consumption instance of 512 MB.
 */
export const WORKER_NODE_OPTIONS = "--max-semi-space-size=4";
