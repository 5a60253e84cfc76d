/**
 * A preload for a measured process (`node --import <this file> …`): it writes the process's peak
 * RSS (KiB, `maxRSS`) to the file named by D365_BENCH_RSS_FILE as it exits. Kept apart from the
 * benchmarks so that loading it adds nothing to what it measures.
 */
import { writeFileSync } from "node:fs";

export const PEAK_RSS_FILE = "D365_BENCH_RSS_FILE";

const file = process.env[PEAK_RSS_FILE];
if (file) process.on("exit", () => writeFileSync(file, String(process.resourceUsage().maxRSS)));
