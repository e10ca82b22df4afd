// drover's dashboard: polls GET /v1/dashboard every second with the admin
// token from sessionStorage and redraws the page that is shown. No
// framework, no build step; every value is inserted as text.
"use strict";

const TOKEN_KEY = "drover-admin-token";
const POLL_MS = 1000;
let polls = 0;
let last = null;      // the latest answer
let sortKey = "id";   // workers table
let sortDesc = false;
let timer = null;

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") e.className = v; else e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const k of kids) {
    if (k === undefined || k === null) continue;
    e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  }
  return e;
}

function num(x, digits) {
  if (x === undefined || x === null || Number.isNaN(x)) return "–";
  const d = digits === undefined ? (Math.abs(x) >= 100 ? 0 : 1) : digits;
  return Number(x).toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: 0 });
}

function td(v, cls) { return el("td", cls ? { class: cls } : null, v); }
function tdn(v, d) { return el("td", { class: "num" }, num(v, d)); }
function age(ms) { return ms < 0 ? "never" : (ms < 1000 ? ms + " ms" : num(ms / 1000, 1) + " s"); }

function fill(tbody, rows) { tbody.replaceChildren(...rows); }

function showLogin(msg) {
  document.getElementById("login").hidden = false;
  document.getElementById("logout").hidden = true;
  for (const p of document.querySelectorAll(".page")) p.hidden = true;
  document.getElementById("login-error").textContent = msg || "";
  document.getElementById("status-line").textContent = "not logged in";
}

function page() {
  const p = (location.hash || "#cluster").slice(1);
  return ["cluster", "endpoints", "workers", "decisions"].includes(p) ? p : "cluster";
}

function showPage() {
  if (!sessionStorage.getItem(TOKEN_KEY)) { showLogin(); return; }
  document.getElementById("login").hidden = true;
  document.getElementById("logout").hidden = false;
  const p = page();
  for (const s of document.querySelectorAll(".page")) s.hidden = s.id !== "page-" + p;
  for (const a of document.querySelectorAll("nav a")) a.classList.toggle("active", a.dataset.page === p);
  if (last) render(last);
}

async function poll() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (!token) { showLogin(); return; }
  try {
    const resp = await fetch("/v1/dashboard", { headers: { "Authorization": "Bearer " + token }, cache: "no-store" });
    if (resp.status === 401) {
      sessionStorage.removeItem(TOKEN_KEY);
      let msg = "the node refused the token";
      try { const b = await resp.json(); if (b.msg) msg = b.msg; } catch (e) { /* not JSON */ }
      showLogin(msg);
      return;
    }
    if (!resp.ok) throw new Error("HTTP " + resp.status);
    last = await resp.json();
    polls++;
    const line = document.getElementById("status-line");
    line.dataset.polls = String(polls);
    line.textContent = "node " + last.node.id + " · " + (last.healthy ? "healthy" : "unhealthy: " + last.reason) +
      " · updated " + new Date(last.time).toLocaleTimeString();
    showPage();
  } catch (e) {
    document.getElementById("status-line").textContent = "cannot reach the node (" + e.message + "), retrying";
  } finally {
    timer = setTimeout(poll, POLL_MS);
  }
}

function render(d) {
  switch (page()) {
    case "cluster": renderCluster(d); break;
    case "endpoints": renderEndpoints(d); break;
    case "workers": renderWorkers(d); break;
    case "decisions": renderDecisions(d); break;
  }
}

function renderCluster(d) {
  const n = d.node;
  document.getElementById("cluster-summary").textContent =
    "leader " + (n.leader || "none") + ", term " + n.term + ", voters " + n.voters.join(", ") +
    (n.nonvoters.length ? ", non-voters " + n.nonvoters.join(", ") : "") + "; answered by " + n.id + ".";
  fill(document.querySelector("#nodes tbody"), d.nodes.map(nv => {
    const s = nv.status;
    if (!s) return el("tr", { "data-node": nv.id }, td(nv.id), td(nv.http || ""), el("td", { class: "error", colspan: 8 }, nv.error || "no answer"));
    const health = s.stale ? el("td", { class: "warn" }, "stale") : (s.leader ? el("td", { class: "ok" }, "ok") : el("td", { class: "error" }, "no leader"));
    return el("tr", { "data-node": nv.id, "data-state": s.state },
      td(nv.id), td(nv.http || ""), td(s.state), td(s.leader || "–"), tdn(s.term, 0), tdn(s.applied_index, 0),
      tdn(s.commit_index, 0), el("td", { class: "num" + (nv.behind > 0 ? " warn" : "") }, num(nv.behind, 0)),
      td(s.state === "leader" ? "–" : age(s.last_contact_ms)), health);
  }));
  fill(document.querySelector("#peers tbody"), d.peers.map(p => el("tr", { "data-peer": p.id },
    td(p.id), td(p.address), td(p.voter ? "yes" : "no"), td(p.leader ? "yes" : ""),
    el("td", { class: p.alive ? "ok" : "error" }, p.alive ? "alive" : "missing"))));
  fill(document.querySelector("#members tbody"), d.members.map(m => el("tr", { "data-member": m.id },
    td(m.id), td(m.gossip), td(m.cluster), td(m.http || ""), td(m.nonvoter ? "yes" : ""))));
}

// chart draws demand, served load and ready capacity over the history.
function chart(samples, spanS) {
  const W = 900, H = 180, L = 50, B = 18;
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 " + W + " " + H);
  svg.setAttribute("class", "chart");
  svg.setAttribute("data-points", String(samples.length));
  if (samples.length === 0) return svg;
  const t1 = samples[samples.length - 1].t, t0 = Math.min(samples[0].t, t1 - 60000);
  let ymax = 1;
  for (const s of samples) ymax = Math.max(ymax, s.demand, s.capacity, s.served);
  ymax *= 1.1;
  const x = t => L + (W - L - 5) * (t - t0) / Math.max(1, t1 - t0);
  const y = v => (H - B) - (H - B - 5) * v / ymax;
  for (const [cls, key] of [["capacity", "capacity"], ["demand", "demand"], ["served", "served"]]) {
    const pl = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
    pl.setAttribute("class", cls);
    pl.setAttribute("points", samples.map(s => x(s.t).toFixed(1) + "," + y(s[key]).toFixed(1)).join(" "));
    svg.append(pl);
  }
  const label = (tx, ty, s) => {
    const t = document.createElementNS("http://www.w3.org/2000/svg", "text");
    t.setAttribute("x", tx); t.setAttribute("y", ty); t.textContent = s; svg.append(t);
  };
  label(2, 12, num(ymax, 0) + "/s");
  label(2, H - B, "0");
  label(L, H - 4, new Date(t0).toLocaleTimeString());
  label(W - 60, H - 4, new Date(t1).toLocaleTimeString());
  return svg;
}

function renderEndpoints(d) {
  const box = document.getElementById("endpoints");
  if (d.endpoints.length === 0) { box.replaceChildren(el("p", null, "No endpoints yet.")); return; }
  const lat = d.route_latency_ms || {};
  box.replaceChildren(...d.endpoints.map(ep => {
    const samples = (d.history.endpoints || {})[ep.id] || [];
    const now = ep.now;
    const wait = now.capacity > 0 ? now.in_flight / now.capacity : null;
    let workerSeconds = 0;
    for (const s of samples) workerSeconds += s.ready * d.history.every_s;
    const states = Object.entries(ep.workers_by_state).map(([k, v]) => k + " " + v).join(", ") || "none";
    return el("div", { class: "endpoint", "data-endpoint": ep.endpoint_name },
      el("h2", null, ep.endpoint_name + " (id " + ep.id + ", " + ep.endpoint_state + ")"),
      el("div", { class: "figures" },
        el("div", null, "demand", el("b", { "data-fig": "demand" }, num(now.demand) + "/s")),
        el("div", null, "ready capacity", el("b", { "data-fig": "capacity" }, num(now.capacity) + "/s")),
        el("div", null, "ready workers", el("b", { "data-fig": "ready" }, num(now.ready, 0) + " / max " + ep.max_workers)),
        el("div", null, "held requests", el("b", { "data-fig": "queued" }, num(now.queued, 0))),
        el("div", null, "queue wait now", el("b", { "data-fig": "wait" }, wait === null ? "–" : num(wait, 2) + " s"),
          "target " + ep.target_queue_time + " s, max " + ep.max_queue_time + " s"),
        el("div", null, "/route/ p50 / p90 / p99 (this node)", el("b", { "data-fig": "latency" },
          num(lat.p50, 2) + " / " + num(lat.p90, 2) + " / " + num(lat.p99, 2) + " ms")),
        el("div", null, "ready worker-seconds (history)", el("b", { "data-fig": "cost" }, num(workerSeconds, 0)))),
      el("div", { class: "legend" }, el("span", { class: "demand" }, "— demand"),
        el("span", { class: "served" }, "- - served"), el("span", { class: "capacity" }, "— ready capacity"),
        el("span", null, samples.length + " samples, up to " + num(d.history.span_s / 60, 0) + " min")),
      chart(samples, d.history.span_s),
      el("p", null, "workers: " + states),
      el("table", { class: "groups" }, el("thead", null, el("tr", null,
        el("th", null, "group"), el("th", null, "provider"), el("th", null, "weight"), el("th", null, "workers"))),
        el("tbody", null, ...ep.groups.map(g => el("tr", { "data-group": g.id },
          td(g.name ? g.id + " " + g.name : g.id), td(g.provider), tdn(g.weight), td(
            g.workers.map(w => w.id + " " + w.state).join(", ") || "none"))))));
  }));
}

function workerRows(d) {
  const rows = [];
  for (const ep of d.endpoints) for (const g of ep.groups) for (const w of g.workers)
    rows.push(Object.assign({ endpoint: ep.endpoint_name, group: g.id }, w));
  return rows;
}

function renderWorkers(d) {
  const f = document.getElementById("worker-filter").value.trim().toLowerCase();
  let rows = workerRows(d).filter(r => !f ||
    [r.endpoint, "g" + r.group, String(r.id), r.state, r.error || "", r.heard_by || "", r.url].some(s => s.toLowerCase().includes(f)));
  rows.sort((a, b) => {
    const x = a[sortKey], y = b[sortKey];
    const c = (typeof x === "number" && typeof y === "number") ? x - y : String(x ?? "").localeCompare(String(y ?? ""));
    return sortDesc ? -c : c;
  });
  fill(document.querySelector("#workers tbody"), rows.map(r => el("tr", { "data-worker": r.id, "data-state": r.state },
    td(r.endpoint), td(r.group), td(r.id), el("td", { class: r.state === "ready" ? "ok" : (r.state === "lost" || r.state === "error" ? "error" : "") }, r.state),
    tdn(r.cur_load), tdn(r.reqs_working, 0), tdn(r.perf), el("td", { class: "error" }, r.error || ""),
    td(age(r.last_report_ms)), td(r.heard_by || ""), td(r.url))));
}

function renderDecisions(d) {
  const sum = document.getElementById("decisions-summary");
  const notes = document.getElementById("notes");
  const dec = d.decisions;
  if (!dec) {
    sum.textContent = "No decisions: " + (d.decisions_error || "this node runs no scheduler") + ".";
    notes.replaceChildren();
    fill(document.querySelector("#decisions tbody"), []);
    return;
  }
  const names = {};
  for (const ep of d.endpoints) names[ep.id] = ep.endpoint_name;
  sum.textContent = "The leader " + (dec.leader || "(none)") + "'s recent decisions, newest first." +
    (dec.endpoints.length === 0 ? " None yet: static groups are only routed to." : "");
  notes.replaceChildren(...dec.endpoints.filter(e => e.note).map(e => el("p", { "data-note": e.endpoint_id },
    (names[e.endpoint_id] || e.endpoint_id) + ": " + e.note + " " + figs(e.figures))));
  const rows = [];
  for (const e of dec.endpoints) for (const x of e.decisions) rows.push(x);
  rows.sort((a, b) => String(b.time).localeCompare(String(a.time)));
  fill(document.querySelector("#decisions tbody"), rows.slice(0, 200).map(x => el("tr", { "data-kind": x.kind },
    td(new Date(x.time).toLocaleTimeString()), td(names[x.endpoint_id] || x.endpoint_id), td(x.policy), td(x.kind),
    td(x.worker_id ? "worker " + x.worker_id : (x.count ? x.count + " in group " + x.group_id : "group " + (x.group_id || "–"))),
    td(x.reason), td(figs(x.figures)), el("td", { class: x.outcome === "failed" || x.outcome === "refused" ? "error" : "" },
      x.outcome + (x.error ? ": " + x.error : "")))));
}

function figs(f) {
  return f ? Object.entries(f).map(([k, v]) => k + "=" + num(v, 2)).join(" ") : "";
}

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("login-form").addEventListener("submit", ev => {
    ev.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, document.getElementById("token").value.trim());
    document.getElementById("token").value = "";
    clearTimeout(timer);
    poll();
  });
  document.getElementById("logout").addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    last = null;
    showLogin();
  });
  document.getElementById("worker-filter").addEventListener("input", () => { if (last) renderWorkers(last); });
  for (const th of document.querySelectorAll("#workers th[data-sort]")) {
    th.addEventListener("click", () => {
      sortDesc = sortKey === th.dataset.sort ? !sortDesc : false;
      sortKey = th.dataset.sort;
      if (last) renderWorkers(last);
    });
  }
  window.addEventListener("hashchange", showPage);
  showPage();
  poll();
});
