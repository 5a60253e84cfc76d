// The operator console. It holds no data: everything comes from the admin routes, called with the
// admin key in the x-functions-key header. The key lives in sessionStorage (this tab only), never
// in a URL, and is never logged.
"use strict";
(() => {
  const KEY = "d365-sync.adminKey";
  const api = new URL("./", document.baseURI); // .../api/
  const $ = (sel) => document.querySelector(sel);
  const el = (tag, attrs = {}, ...children) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else if (v !== undefined && v !== null) node.setAttribute(k, v);
    }
    for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(c === null || c === undefined ? "" : String(c)));
    return node;
  };
  const fmt = (v) => (v === null || v === undefined ? "—" : typeof v === "object" ? JSON.stringify(v) : String(v));
  const when = (iso) => (iso ? new Date(iso).toISOString().replace("T", " ").slice(0, 19) + "Z" : "—");

  class Unauthorized extends Error {}

  // The tenant this page serves: the page's own `?tenant=<id>` (default: the tenant `default`).
  // Every route call carries it, so one console shows one customer's data and no other's.
  const tenant = new URLSearchParams(location.search).get("tenant") || "";
  const withTenant = (path) => {
    const url = new URL(path, api);
    if (tenant) url.searchParams.set("tenant", tenant);
    return url;
  };

  async function call(method, path, body) {
    const res = await fetch(withTenant(path), {
      method, cache: "no-store",
      headers: { "x-functions-key": sessionStorage.getItem(KEY) || "", ...(body ? { "content-type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    if (res.status === 401) throw new Unauthorized("the admin key was refused");
    return res;
  }
  async function json(method, path, body) {
    const res = await call(method, path, body);
    const data = res.status === 204 ? null : await res.json().catch(() => null);
    if (!res.ok && res.status !== 503) throw new Error((data && data.error && data.error.message) || `${method} ${path}: ${res.status}`);
    return data;
  }
  const status = (text) => { $("#status").textContent = text; };

  // ------------------------------------------------------------------ sign-in
  function showLogin(message) {
    $("#console").hidden = true;
    $("#login").hidden = false;
    $("#login-error").textContent = message || "";
    $("#key").focus();
  }
  $("#login").addEventListener("submit", async (e) => {
    e.preventDefault();
    sessionStorage.setItem(KEY, $("#key").value);
    $("#key").value = "";
    await load();
  });
  $("#forget").addEventListener("click", () => { sessionStorage.removeItem(KEY); showLogin(); });
  $("#refresh").addEventListener("click", () => load());

  // ------------------------------------------------------------------ loading
  /** The reload an action schedules (one at a time; any load makes it unnecessary). */
  let reloadTimer;
  /** Loads under way: the console is `aria-busy` while any runs. */
  let loading = 0;
  async function load() {
    clearTimeout(reloadTimer);
    if (!sessionStorage.getItem(KEY)) return showLogin();
    loading += 1;
    $("#console").setAttribute("aria-busy", "true");
    try {
      const [health, runs, pending, conflicts, connectivity] = await Promise.all([
        json("GET", "health"), json("GET", "sync/runs?limit=100"), json("GET", "pending?limit=500"),
        json("GET", "conflicts?limit=500"), json("GET", "admin/connectivity"),
      ]);
      $("#login").hidden = true;
      $("#console").hidden = false;
      renderHealth(health, runs.runs, connectivity);
      renderCharts(runs.runs);
      renderPending(pending.items);
      renderConflicts(conflicts.items);
      renderDivergence(runs.runs);
      await renderTenants();
      $("#refreshed").textContent = `updated ${when(new Date().toISOString())}`;
    } catch (e) {
      if (e instanceof Unauthorized) { sessionStorage.removeItem(KEY); return showLogin("That key was refused. Enter the admin key again."); }
      status(`Could not load: ${e.message}`);
    } finally {
      loading -= 1;
      if (!loading) $("#console").setAttribute("aria-busy", "false");
    }
  }

  // ------------------------------------------------------------------ tenants
  /** With registered tenants, a picker that opens the console of another (`?tenant=<id>`). */
  async function renderTenants() {
    const list = await json("GET", "tenants").catch(() => null);
    const ids = ["default", ...((list && list.tenants) || []).map((t) => t.id)];
    const current = tenant || "default";
    const picker = $("#tenant");
    picker.hidden = ids.length < 2;
    picker.replaceChildren(...ids.map((id) => el("option", { value: id, ...(id === current ? { selected: "" } : {}) }, id)));
  }
  $("#tenant").addEventListener("change", (e) => {
    const url = new URL(location.href);
    url.searchParams.set("tenant", e.target.value);
    location.assign(url);
  });

  // ------------------------------------------------------------------ health
  function renderHealth(health, runs, connectivity) {
    const chips = $("#connectivity");
    chips.replaceChildren(...["token", "dataverse", "app"].map((k) => {
      const c = connectivity[k];
      return el("span", { class: `chip ${c.ok ? "ok" : "bad"}`, "data-check": k }, `${k === "token" ? "Token" : k === "app" ? "App" : "Dataverse"}: ${c.ok ? "ok" : c.code}`);
    }));
    // When the Dataverse credential expires (GET /api/health's `credential`, when it is known).
    const cred = health.credential;
    if (cred) {
      const warnDays = cred.warningDays ?? 30;
      const state = cred.daysLeft < 0 ? "bad" : cred.daysLeft <= warnDays ? "warn" : "ok";
      const text = cred.daysLeft < 0 ? `expired ${when(cred.expiresOn)}` : `${cred.daysLeft} days left (${when(cred.expiresOn).slice(0, 10)})`;
      chips.append(el("span", { class: `chip ${state}`, "data-check": "credential", title: `${cred.kind}` }, `Credential: ${text}`));
    }
    const body = $("#health tbody");
    body.replaceChildren();
    for (const m of health.mappings || []) {
      const last = runs.find((r) => r.mapping === m.name);
      ["toDataverse", "toApp"].forEach((dir, i) => {
        const d = m[dir] || {};
        const counts = (last && last[dir]) || {};
        body.append(el("tr", { "data-mapping": m.name, "data-direction": dir },
          el("td", {}, i === 0 ? m.name : ""), el("td", {}, dir === "toDataverse" ? "→ Dataverse" : "→ app"),
          el("td", {}, el("span", { class: `chip ${d.status || m.status}` }, d.status || m.status)),
          el("td", {}, when(d.lastSuccessAt)), el("td", {}, last ? `${last.status} · ${when(last.startedAt)}` : "—"),
          el("td", {}, fmt(counts.created)), el("td", {}, fmt(counts.updated)), el("td", {}, fmt(counts.deleted)),
          el("td", {}, fmt(counts.skipped)), el("td", {}, fmt(counts.failed)),
          el("td", { "data-pending-figure": dir }, pendingFigure(m.pending && m.pending[dir])),
          el("td", {}, i === 0 ? exportButtons(m.name) : "")));
      });
    }
  }

  /** "3 (oldest 2 h)": the direction's pending records and the age of the oldest. */
  function pendingFigure(p) {
    if (!p || !p.count) return "0";
    const age = p.oldestAgeSeconds;
    const text = age >= 86_400 ? `${Math.floor(age / 86_400)} d` : age >= 3_600 ? `${Math.floor(age / 3_600)} h` : age >= 60 ? `${Math.floor(age / 60)} min` : `${age} s`;
    return `${p.count} (oldest ${text})`;
  }

  function exportButtons(mapping) {
    const go = (side) => async () => {
      status(`Exporting ${mapping} (${side})…`);
      const res = await call("GET", `export/${encodeURIComponent(mapping)}.csv?side=${side}`);
      if (!res.ok) return status(`Export failed: ${res.status}`);
      const url = URL.createObjectURL(await res.blob());
      const a = el("a", { href: url, download: `${mapping}-${side}.csv` });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      status(`Exported ${mapping} (${side}).`);
    };
    return el("span", {}, el("button", { type: "button", "data-export": mapping, onclick: go("dataverse") }, "CSV"), " ",
      el("button", { type: "button", "data-export-app": mapping, onclick: go("app") }, "app CSV"));
  }

  // ------------------------------------------------------------------ charts
  function renderCharts(runs) {
    const done = runs.filter((r) => r.finishedAt && !r.dryRun).sort((a, b) => a.startedAt.localeCompare(b.startedAt));
    const sum = (c) => (c ? c.created + c.updated + c.deleted : 0);
    const records = done.map((r) => sum(r.toDataverse) + sum(r.toApp));
    const failures = done.map((r) => {
      const failed = r.toDataverse.failed + r.toApp.failed;
      const all = failed + sum(r.toDataverse) + sum(r.toApp) + r.toDataverse.skipped + r.toApp.skipped;
      return all ? (100 * failed) / all : 0;
    });
    const lag = done.map((r) => (Date.parse(r.finishedAt) - Date.parse(r.startedAt)) / 1000);
    $("#charts").replaceChildren(
      chart("Records written per run", records, ""), chart("Failure rate per run", failures, "%"), chart("Run duration (lag, s)", lag, "s"));
  }

  function chart(title, values, unit) {
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 300 120");
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", title);
    const max = Math.max(1, ...values);
    const w = values.length ? 300 / values.length : 300;
    values.forEach((v, i) => {
      const h = (v / max) * 100;
      const bar = document.createElementNS(ns, "rect");
      for (const [k, val] of Object.entries({ x: i * w + 1, y: 110 - h, width: Math.max(1, w - 2), height: h, fill: "#1f6feb" })) bar.setAttribute(k, val);
      const tip = document.createElementNS(ns, "title");
      tip.textContent = `${Math.round(v * 10) / 10}${unit}`;
      bar.append(tip);
      svg.append(bar);
    });
    const label = document.createElementNS(ns, "text");
    for (const [k, val] of Object.entries({ x: 4, y: 12, "font-size": 10, fill: "#57606a" })) label.setAttribute(k, val);
    label.textContent = values.length ? `max ${Math.round(max * 10) / 10}${unit} · ${values.length} runs` : "no finished runs yet";
    svg.append(label);
    return el("div", { class: "chart" }, el("h3", {}, title), svg);
  }

  // ------------------------------------------------------------------ pending
  function renderPending(items) {
    $("#pending-count").textContent = String(items.length);
    $("#pending-empty").hidden = items.length > 0;
    $("#pending tbody").replaceChildren(...items.map((p) => el("tr", { "data-pending": p.appId || p.dataverseId || p.key },
      el("td", {}, p.mapping), el("td", {}, p.direction), el("td", {}, p.appId || "—", el("br"), el("span", { class: "muted" }, p.dataverseId || "")),
      el("td", {}, el("code", {}, p.code), " ", p.message), el("td", {}, p.attempts), el("td", {}, when(p.firstSeenAt)), el("td", {}, when(p.nextAttemptAt)),
      el("td", {},
        el("button", { type: "button", class: "primary", "data-action": "retry", onclick: () => act("POST", `pending/${encodeURIComponent(p.mapping)}/${p.key}/retry`, "Retry queued") }, "Retry"), " ",
        el("button", { type: "button", class: "danger", "data-action": "discard", onclick: () => {
          if (confirm(`Discard the pending ${p.mapping} record ${p.appId || p.dataverseId}? It will not be retried.`)) act("DELETE", `pending/${encodeURIComponent(p.mapping)}/${p.key}`, "Discarded");
        } }, "Discard")))));
  }

  async function act(method, path, done, body) {
    try {
      await json(method, path, body);
      status(`${done}.`);
    } catch (e) {
      if (e instanceof Unauthorized) return showLogin("That key was refused. Enter the admin key again.");
      status(`Failed: ${e.message}`);
    }
    clearTimeout(reloadTimer);
    reloadTimer = setTimeout(load, 1000);
  }

  // ------------------------------------------------------------------ conflicts
  function renderConflicts(items) {
    // A reload must not undo what the operator has chosen so far in a conflict still open.
    const chosen = new Map([...document.querySelectorAll("#conflicts input[type=radio]:checked")].map((i) => [i.name, i.value]));
    const side = (name, value) => (chosen.get(name) ?? "app") === value ? { checked: "" } : {};
    $("#conflict-count").textContent = String(items.length);
    $("#conflicts-empty").hidden = items.length > 0;
    $("#conflicts").replaceChildren(...items.map((c) => {
      const name = (f) => `take-${c.key}-${f.app}`;
      const rows = c.fields.map((f) => el("tr", { "data-field": f.app },
        el("td", {}, el("strong", {}, f.app), el("br"), el("span", { class: "muted" }, f.dataverse)),
        el("td", {}, fmt(f.base)),
        el("td", { class: "choice" }, el("label", {}, el("input", { type: "radio", name: name(f), value: "app", ...side(name(f), "app") }), " ", fmt(f.appValue))),
        el("td", { class: "choice" }, el("label", {}, el("input", { type: "radio", name: name(f), value: "dataverse", ...side(name(f), "dataverse") }), " ", fmt(f.dataverseValue)))));
      const path = `conflicts/${encodeURIComponent(c.mapping)}/${c.key}/resolve`;
      const perField = () => {
        const fields = {};
        for (const f of c.fields) fields[f.app] = document.querySelector(`input[name="${CSS.escape(name(f))}"]:checked`).value;
        act("POST", path, "Resolution queued", { fields });
      };
      return el("div", { class: "conflict", "data-conflict": c.appId },
        el("div", {}, el("strong", {}, c.mapping), ` · app ${c.appId} · Dataverse ${c.dataverseId} · detected ${when(c.detectedAt)}`),
        el("table", {}, el("thead", {}, el("tr", {}, el("th", {}, "Field"), el("th", {}, "Last synced"), el("th", {}, `App (${when(c.appUpdatedAt)})`), el("th", {}, `Dataverse (${when(c.dataverseModifiedOn)})`))), el("tbody", {}, ...rows)),
        el("div", { class: "buttons" },
          el("button", { type: "button", class: "primary", "data-action": "resolve-fields", onclick: perField }, "Resolve with the chosen values"),
          el("button", { type: "button", "data-action": "take-app", onclick: () => act("POST", path, "Resolution queued", { take: "app" }) }, "Take the app's record"),
          el("button", { type: "button", "data-action": "take-dataverse", onclick: () => act("POST", path, "Resolution queued", { take: "dataverse" }) }, "Take Dataverse's record")));
    }));
  }

  // ------------------------------------------------------------------ reconciliation
  function renderDivergence(runs) {
    const byMapping = new Map();
    for (const r of runs) if (r.mode === "reconcile" && r.divergence && !byMapping.has(r.mapping)) byMapping.set(r.mapping, r);
    const box = $("#divergence");
    if (!byMapping.size) return box.replaceChildren(el("p", { class: "muted" }, "No reconciliation among the recent runs."));
    box.replaceChildren(el("table", {}, el("thead", {}, el("tr", {}, el("th", {}, "Mapping"), el("th", {}, "Run"), el("th", {}, "Records that diverged"), el("th", {}, "By field"))),
      el("tbody", {}, ...[...byMapping.values()].map((r) => el("tr", {}, el("td", {}, r.mapping), el("td", {}, when(r.startedAt)), el("td", {}, r.divergence.records),
        el("td", {}, Object.entries(r.divergence.fields).map(([f, n]) => `${f}: ${n}`).join(", ") || "—"))))));
  }

  load();
})();
