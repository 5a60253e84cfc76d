/**
 * A small in-memory stand-in for the emulator core, implementing the EmulatorContext seam for the
 * extras' unit tests: two demo tables, alternate key uniqueness, binds, snapshot transactions and
 * committed-change events, and a router just wide enough for `$batch` parts.
 */
import { randomUUID } from "node:crypto";
import {
  DataverseFault,
  faultResponse,
  type ChangeEvent,
  type EmuRequest,
  type EmuResponse,
  type EmulatorContext,
} from "../../emulators/dataverse/types.js";

type Row = Record<string, unknown>;
const TABLES: Record<string, { set: string; key?: string }> = {
  contact: { set: "contacts", key: "hlf_mentorid" },
  hlf_mentorgroup: { set: "hlf_mentorgroups", key: "hlf_groupcode" },
};
const ORIGIN = "http://127.0.0.1:9";

export interface FakeContext extends EmulatorContext {
  rows(table: string): Row[];
  dispatched: EmuRequest[];
  events: ChangeEvent[];
}

export function fakeContext(): FakeContext {
  let store = new Map<string, Map<string, Row>>(Object.keys(TABLES).map((t) => [t, new Map()]));
  const listeners = new Set<(e: ChangeEvent) => void>();
  const events: ChangeEvent[] = [];
  const dispatched: EmuRequest[] = [];
  let buffered: ChangeEvent[] | undefined;
  let clock = Date.parse("2025-01-01T00:00:00Z");

  const emit = (event: ChangeEvent) => {
    if (buffered) return void buffered.push(event);
    events.push(event);
    for (const listener of listeners) listener(event);
  };
  const table = (name: string) => {
    const t = store.get(name);
    if (!t) throw new DataverseFault(404, "0x0", `Unknown table ${name}`);
    return t;
  };
  const write = (name: string, row: Row, body: Row, userId: string) => {
    for (const [key, value] of Object.entries(body)) {
      if (key.startsWith("bad")) throw new DataverseFault(400, "0x80048d19", `Invalid property '${key}'.`);
      const bind = /^(.+)@odata\.bind$/.exec(key);
      if (bind) {
        const target = typeof value === "string" ? ops.parseRecordUrl(value) : undefined;
        const id = target && findId(target.table, target.key);
        if (!id) throw new DataverseFault(400, "0x80090800", `Invalid url value '${String(value)}' for lookup property '${bind[1]}'.`);
        row[`_${bind[1].toLowerCase()}_value`] = id;
      } else row[key] = value;
    }
    const keyColumn = TABLES[name].key;
    if (keyColumn && row[keyColumn] !== undefined) {
      for (const other of table(name).values()) {
        if (other !== row && other[`${name}id`] !== row[`${name}id`] && other[keyColumn] === row[keyColumn]) {
          throw new DataverseFault(412, "0x80060892", `Entity Key ${keyColumn}_key violated.`);
        }
      }
    }
    row.modifiedon = new Date((clock += 1000)).toISOString();
    row._modifiedby_value = userId;
  };
  const findId = (name: string, key: Record<string, unknown>): string | undefined => {
    const pk = `${name}id`;
    if (typeof key[pk] === "string") return table(name).has(key[pk] as string) ? (key[pk] as string) : undefined;
    for (const row of table(name).values()) {
      if (Object.entries(key).every(([k, v]) => row[k] === v)) return row[pk] as string;
    }
    return undefined;
  };

  const ops: EmulatorContext["ops"] = {
    create(name, body, userId) {
      const pk = `${name}id`;
      const id = typeof body[pk] === "string" ? (body[pk] as string) : randomUUID();
      if (table(name).has(id)) throw new DataverseFault(412, "0x80040237", "Cannot insert duplicate key.");
      const row: Row = { [pk]: id, statecode: 0 };
      table(name).set(id, row);
      try {
        write(name, row, body, userId);
      } catch (error) {
        table(name).delete(id);
        throw error;
      }
      emit({ table: name, message: "Create", id, userId, changed: { ...body }, row: { ...row }, correlationId: randomUUID() });
      return id;
    },
    update(name, id, body, userId) {
      const row = table(name).get(id);
      if (!row) throw new DataverseFault(404, "0x80040217", `${name} With Id = ${id} Does Not Exist`);
      write(name, row, body, userId);
      emit({ table: name, message: "Update", id, userId, changed: { ...body }, row: { ...row }, correlationId: randomUUID() });
    },
    upsert(name, key, body, userId) {
      const id = findId(name, key);
      if (id) {
        ops.update(name, id, body, userId);
        return { id, created: false };
      }
      return { id: ops.create(name, { ...key, ...body }, userId), created: true };
    },
    delete(name, id, userId) {
      if (!table(name).delete(id)) throw new DataverseFault(404, "0x80040217", `${name} With Id = ${id} Does Not Exist`);
      emit({ table: name, message: "Delete", id, userId, changed: {}, row: null, correlationId: randomUUID() });
    },
    tableForEntitySet: (set) => Object.keys(TABLES).find((t) => TABLES[t].set === set),
    parseRecordUrl(url) {
      const match = /(?:^|\/)(\w+)\(([^)]*)\)$/.exec(url);
      const name = match && ops.tableForEntitySet(match[1]);
      if (!match || !name) return undefined;
      const alt = /^(\w+)='([^']*)'$/.exec(match[2]);
      return { table: name, key: alt ? { [alt[1]]: alt[2] } : { [`${name}id`]: match[2] } };
    },
  };

  const ctx: FakeContext = {
    origin: ORIGIN,
    serviceRoot: `${ORIGIN}/api/data/v9.2/`,
    organizationId: "4ef5b371-e89e-e711-8122-000d3aa2331c",
    organizationName: "emulatororg",
    businessUnitId: "e2b9dd85-e89e-e711-8122-000d3aa2331c",
    now: () => clock,
    ops,
    dispatched,
    events,
    rows: (name) => [...table(name).values()].map((r) => ({ ...r })),
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async transaction(fn) {
      const snapshot = new Map([...store].map(([t, rows]) => [t, new Map([...rows].map(([id, r]) => [id, { ...r }]))]));
      const outer = buffered;
      buffered = [];
      try {
        const result = await fn();
        const committed = buffered;
        buffered = outer;
        committed.forEach(emit);
        return result;
      } catch (error) {
        store = snapshot;
        buffered = outer;
        throw error;
      }
    },
    async dispatch(req) {
      dispatched.push(req);
      try {
        return route(req);
      } catch (error) {
        if (error instanceof DataverseFault) return faultResponse(error);
        throw error;
      }
    },
  };

  function route(req: EmuRequest): EmuResponse {
    const path = decodeURIComponent(req.url.pathname.replace(/^\/api\/data\/v9\.2\//, ""));
    const match = /^(\w+)(?:\(([^)]*)\))?(?:\/(\w+))?$/.exec(path);
    const name = match && ops.tableForEntitySet(match[1]);
    if (!match || !name) throw new DataverseFault(404, "0x0", `Resource not found for the segment '${path}'.`);
    const body = req.body ? (JSON.parse(req.body) as Row) : {};
    const entityUrl = (id: string) => `${ctx.serviceRoot}${match[1]}(${id})`;
    if (!match[2]) {
      if (req.method === "POST") {
        const id = ops.create(name, body, req.userId);
        return { status: 204, headers: { "OData-EntityId": entityUrl(id) } };
      }
      if (req.method === "GET") return json(200, { value: ctx.rows(name) });
    } else {
      const key = ops.parseRecordUrl(`${match[1]}(${match[2]})`)!.key;
      if (match[3] && req.method === "PUT") {
        const id = findId(name, key);
        if (!id) throw new DataverseFault(404, "0x80040217", "Does Not Exist");
        ops.update(name, id, { [match[3]]: body.value }, req.userId);
        return { status: 204, headers: {} };
      }
      if (req.method === "PATCH") {
        const existing = findId(name, key);
        if (req.headers["if-match"] === "*" && !existing) throw new DataverseFault(404, "0x80040217", "Does Not Exist");
        const { id } = existing ? (ops.update(name, existing, body, req.userId), { id: existing }) : ops.upsert(name, key, body, req.userId);
        return { status: 204, headers: { "OData-EntityId": entityUrl(id) } };
      }
      const id = findId(name, key);
      if (!id) throw new DataverseFault(404, "0x80040217", `${name} With Id = ${match[2]} Does Not Exist`);
      if (req.method === "GET") return json(200, table(name).get(id));
      if (req.method === "DELETE") {
        ops.delete(name, id, req.userId);
        return { status: 204, headers: {} };
      }
    }
    throw new DataverseFault(405, "0x0", "Method not allowed.");
  }

  return ctx;
}

function json(status: number, body: unknown): EmuResponse {
  return { status, headers: { "content-type": "application/json; odata.metadata=minimal" }, body: JSON.stringify(body) };
}
