/**
 * The simulated DMF batch: executions (one per picked-up import message, ImportFromPackage or
 * ExportToPackage call) move through their statuses as emulator time passes, one `batchDelayMs`
 * step each: waiting → running → final. Nothing runs on timers: every read first calls `tick()`,
 * which settles whatever is due, so tests drive it by moving the clock.
 * At the final step an import applies its rows to the entity's store, except the rows a
 * `failRecords` predicate refuses: those become execution errors and error keys naming the row.
 */
import { PackageError, type ParsedEntityFile } from "./packageCodec.js";
import { newGuid, type RecordFailure, type Row } from "./types.js";

export interface ExecutionError {
  RecordId: string;
  Field: string;
  ErrorMessage: string;
}

export interface Execution {
  executionId: string;
  direction: "import" | "export";
  project: string;
  /** When the execution was created (emulator ms); statuses are counted from here. */
  createdAt: number;
  /** A package API call with `execute: false` stays NotRun. */
  execute: boolean;
  done: boolean;
  completedAt?: number;
  /** Import: the parsed files, or why the payload could not be read (all-or-nothing failure). */
  files?: ParsedEntityFile[];
  parseError?: string;
  /** Export: the rows of the project when ExportToPackage was called. */
  exportRows?: Row[];
  exportEntity?: string;
  /** Export: the package's file name (without .zip). */
  packageName?: string;
  errors: ExecutionError[];
  /** Failed rows' key values per entity (the error-keys file). */
  errorKeys: Map<string, { columns: string[]; keys: Row[] }>;
  staged: number;
  written: number;
  /** GetImportTargetErrorKeysFileUrl answers "" this many more times per entity after generation. */
  errorKeysPolls: Map<string, number>;
  onDone?: (execution: Execution) => void;
}

export type SummaryStatus = "Unknown" | "NotRun" | "Executing" | "Succeeded" | "PartiallySucceeded" | "Failed" | "Canceled";

export class Executions {
  private readonly byId = new Map<string, Execution>();
  private readonly pending = new Set<Execution>();
  private readonly imported = new Map<string, { entity: string; rows: Row[] }>();
  private readonly failures = new Map<string, RecordFailure[]>();
  private readonly keyFields = new Map<string, string[]>();

  constructor(private readonly now: () => number, private readonly stepMs: number) {}

  create(init: Pick<Execution, "direction" | "project" | "execute" | "files" | "parseError" | "exportRows" | "exportEntity" | "packageName" | "onDone"> & { executionId?: string }): Execution {
    const executionId = init.executionId || `${init.project.replace(/[^A-Za-z0-9]+/g, "")}-${new Date(this.now()).toISOString().slice(0, 19)}-${newGuid().replace(/-/g, "").toUpperCase()}`;
    const execution: Execution = {
      ...init, executionId, createdAt: this.now(), done: false, errors: [], errorKeys: new Map(), staged: 0, written: 0, errorKeysPolls: new Map(),
    };
    this.byId.set(executionId.toLowerCase(), execution);
    if (execution.execute) this.pending.add(execution);
    this.tick();
    return execution;
  }

  get(executionId: string): Execution | undefined {
    this.tick();
    return this.byId.get(executionId.trim().toLowerCase());
  }

  setKeyFields(entity: string, fields: string[] | undefined): void {
    if (fields?.length) this.keyFields.set(entity.toLowerCase(), fields);
  }

  failRecords(entity: string, predicate: RecordFailure): void {
    const list = this.failures.get(entity.toLowerCase()) ?? [];
    list.push(predicate);
    this.failures.set(entity.toLowerCase(), list);
  }

  /** Every row applied to the entity, in arrival order (a row imported twice appears twice). */
  importedRows(entity: string): Row[] {
    this.tick();
    return [...(this.imported.get(entity.toLowerCase())?.rows ?? [])];
  }

  summaryStatus(execution: Execution): SummaryStatus {
    this.tick();
    if (!execution.execute) return "NotRun";
    if (!execution.done) return this.now() - execution.createdAt < this.stepMs ? "NotRun" : "Executing";
    if (execution.parseError) return "Failed";
    if (execution.errors.length === 0) return "Succeeded";
    return execution.written > 0 ? "PartiallySucceeded" : "Failed";
  }

  /** Settles every execution whose final step is due. */
  tick(): void {
    const now = this.now();
    for (const execution of this.pending) {
      if (now - execution.createdAt < 2 * this.stepMs) continue;
      this.pending.delete(execution);
      this.finish(execution, execution.createdAt + 2 * this.stepMs);
    }
  }

  private finish(execution: Execution, at: number): void {
    if (execution.direction === "import") {
      if (execution.parseError) execution.errors.push({ RecordId: "", Field: "", ErrorMessage: execution.parseError });
      for (const file of execution.files ?? []) this.apply(execution, file);
    }
    execution.done = true;
    execution.completedAt = at;
    execution.onDone?.(execution);
  }

  private apply(execution: Execution, file: ParsedEntityFile): void {
    const entityKey = file.entity.toLowerCase();
    const store = this.imported.get(entityKey) ?? { entity: file.entity, rows: [] };
    this.imported.set(entityKey, store);
    const predicates = this.failures.get(entityKey) ?? [];
    const keyColumns = this.keyFields.get(entityKey)?.filter((c) => file.columns.includes(c)) ?? file.columns.slice(0, 1);
    file.rows.forEach((row, index) => {
      execution.staged += 1;
      let failure: string | undefined;
      for (const p of predicates) if ((failure = p(row)) !== undefined) break;
      if (failure === undefined) {
        store.rows.push(row);
        execution.written += 1;
        return;
      }
      const keyOf = Object.fromEntries(keyColumns.map((c) => [c, row[c] ?? ""]));
      // inferred: RecordId is the row's 1-based position in the entity file (staging RecIds mean nothing outside F&O).
      execution.errors.push({ RecordId: String(index + 1), Field: "", ErrorMessage: `${file.entity} (${keyColumns.map((c) => `${c}=${keyOf[c]}`).join(", ")}): ${failure}` });
      const keys = execution.errorKeys.get(entityKey) ?? { columns: keyColumns, keys: [] };
      keys.keys.push(keyOf);
      execution.errorKeys.set(entityKey, keys);
    });
  }
}

/** The parse step of an import, as a value (F&O accepts the upload and fails it later, in the batch). */
export async function parsePayload(parse: () => Promise<ParsedEntityFile[]> | ParsedEntityFile[]): Promise<{ files?: ParsedEntityFile[]; parseError?: string }> {
  try {
    return { files: await parse() };
  } catch (err) {
    if (err instanceof PackageError) return { parseError: err.message };
    throw err;
  }
}
