/**
 * V8 options the sync process runs with: in Azure as the arguments of the Functions host's Node
 * worker process (the `languageWorkers__node__arguments` app setting, infra/app/function.bicep;
 * `--optimize-for-size` is not allowed in NODE_OPTIONS), in `npm run sync`, and in the benchmark's
 * sync workers.
 *
 * A run's live data stays small and flat however many records it moves (about 35 MB of heap after
 * a 200,000-record load: the planner streams the app's feed page by page, write messages are
 * applied as they are queued, echoes are kept as 20 bytes an id), but it allocates a lot of
 * short-lived garbage: pages of JSON, bulk bodies of 500 records, their answers, per-row hashes.
 * - `--max-semi-space-size=4`: on a machine with plenty of memory V8 sizes its young generation
 *   for that garbage (semi-spaces up to 16 MB or more, tripled for the young generation).
 * - `--optimize-for-size`: a page's rows outlive a few scavenges and are promoted, so the old
 *   generation fills with dead pages, and by default V8 lets it grow up to four times its live size
 *   before collecting. This flag makes V8 collect it sooner. At 200,000 records the run after the
 *   load peaked at 135 MB resident instead of 243 MB, and the load at 128 MB instead of 245 MB, in
 *   the same time (docs/benchmark.md). That matters on a Flex Consumption instance of 512 MB.
 */
export const WORKER_NODE_OPTIONS = "--max-semi-space-size=4 --optimize-for-size";
