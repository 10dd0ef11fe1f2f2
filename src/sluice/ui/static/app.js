// Sluice's dashboard: plain JavaScript over /ui/api (docs/ui.md). Every value shown is set
// as text, never as HTML. The key is sent once, in a POST body; a session cookie (HttpOnly)
// stands for it afterwards.
"use strict";

const API = "/ui/api";
const LIVE = new Set(["queued", "running"]);
const STATES = ["queued", "running", "success", "application_error", "developer_error",
  "platform_error", "timeout", "cancelled"];
const DIALECTS = ["openwhisk", "openfaas", "fn", "sluice"];

let stream = null;      // the open EventSource of the call list, if any
let refresh = null;     // a call page's timer while the call is live

// ---- helpers ------------------------------------------------------------------------------

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

async function api(path, options) {
  const init = Object.assign({credentials: "same-origin", headers: {}}, options || {});
  if (init.method && init.method !== "GET") init.headers["X-Sluice-UI"] = "1";
  const answer = await fetch(API + path, init);
  if (answer.status === 401) { signedOut(); throw new Error("signed out"); }
  const body = answer.status === 204 ? null : await answer.json();
  if (!answer.ok) throw new Error(body && body.error ? body.error : answer.statusText);
  return body;
}

const time = (ms) => ms ? new Date(ms).toLocaleTimeString() : "";
const date = (ms) => ms ? new Date(ms).toISOString().replace("T", " ").slice(0, 19) + "Z" : "";
const millis = (ms) => (ms === null || ms === undefined) ? "" : ms + " ms";
const json = (value) => JSON.stringify(value, null, 2);
const state = (name) => el("span", {class: "state state-" + name, "data-state": name}, name);
const callLink = (id) => el("a", {href: "#/call/" + id}, id.slice(0, 12) + "…");

function show(...nodes) {
  const view = document.getElementById("view");
  view.replaceChildren(...nodes);
}

function fail(error) {
  if (error.message !== "signed out") show(el("p", {class: "error", role: "alert"}, error.message));
}

function stop() {
  if (stream) { stream.close(); stream = null; }
  if (refresh) { clearTimeout(refresh); refresh = null; }
}

// ---- signing in -----------------------------------------------------------------------------

function signedOut() {
  stop();
  document.getElementById("nav").hidden = true;
  document.getElementById("who").hidden = true;
  document.getElementById("view").replaceChildren();
  document.getElementById("sign-in").hidden = false;
}

function signedIn(namespace) {
  document.getElementById("sign-in").hidden = true;
  document.getElementById("nav").hidden = false;
  document.getElementById("who").hidden = false;
  document.getElementById("namespace").textContent = namespace;
  route();
}

document.getElementById("sign-in").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = document.getElementById("key");
  const message = document.getElementById("sign-in-error");
  message.textContent = "";
  try {
    const answer = await fetch(API + "/session", {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-Sluice-UI": "1"},
      body: JSON.stringify({key: input.value}),
    });
    const body = await answer.json();
    if (!answer.ok) throw new Error(body.error || answer.statusText);
    input.value = "";
    signedIn(body.namespace);
  } catch (error) {
    message.textContent = error.message;
  }
});

document.getElementById("sign-out").addEventListener("click", async () => {
  await fetch(API + "/session", {method: "DELETE", headers: {"X-Sluice-UI": "1"}});
  signedOut();
});

// ---- functions ------------------------------------------------------------------------------

function limits(value) {
  const parts = [];
  if (value.timeout !== undefined) parts.push("timeout " + value.timeout + " ms");
  if (value.memory !== undefined) parts.push("memory " + value.memory + " MB");
  if (value.concurrency !== undefined) parts.push("concurrency " + value.concurrency);
  return parts.join(", ");
}

async function functionsView() {
  const found = await api("/functions");
  const rows = found.map((fn) => el("tr", {"data-function": fn.name},
    el("td", {}, el("a", {href: "#/calls?function=" + encodeURIComponent(fn.name)}, fn.name)),
    el("td", {}, fn.dialect),
    el("td", {}, fn.kind),
    el("td", {}, limits(fn.limits)),
    el("td", {}, fn.lastCalls.map((call) => el("a", {href: "#/call/" + call.id,
      title: call.state + " " + date(call.created)}, el("span", {class: "dot state-" + call.state})))),
    el("td", {class: "num error-rate"},
      fn.errorRate === null ? "–" : (fn.errorRate * 100).toFixed(0) + "% of " + fn.ended)));
  show(el("h2", {}, "Functions"),
    found.length ? el("table", {id: "functions"},
      el("tr", {}, ["Name", "Dialect", "Kind", "Limits", "Last calls", "Errors"].map((h) => el("th", {}, h))),
      rows) : el("p", {class: "muted"}, "No functions deployed yet."));
}

// ---- calls, live ----------------------------------------------------------------------------

class Series {
  constructor(size) { this.size = size; this.points = []; }
  add(point) { this.points.push(point); if (this.points.length > this.size) this.points.shift(); }
}

const depth = new Series(60);

function chart(id, title, lines) {
  const width = 320, height = 80;
  const all = lines.flatMap((line) => line.values);
  const top = Math.max(1, ...all);
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("width", width); svg.setAttribute("height", height);
  for (const line of lines) {
    const step = width / Math.max(1, depth.size - 1);
    const points = line.values.map((v, i) => (i * step).toFixed(1) + "," + (height - 2 - (v / top) * (height - 4)).toFixed(1));
    const path = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
    path.setAttribute("points", points.join(" "));
    path.setAttribute("fill", "none");
    path.setAttribute("stroke", line.color);
    path.setAttribute("stroke-width", "2");
    svg.append(path);
  }
  const last = lines.map((line) => line.name + " " + (line.values.length ? line.values[line.values.length - 1] : 0));
  return el("div", {class: "chart", id: id}, el("div", {}, title), svg,
    el("div", {class: "legend"}, last.join(" · ") + " (max " + top + ")"));
}

function drawCharts() {
  const holder = document.getElementById("charts");
  if (!holder) return;
  holder.replaceChildren(
    chart("queue-chart", "Queue depth", [
      {name: "queued", color: "#9a6700", values: depth.points.map((p) => p.queued)},
      {name: "running", color: "#0969da", values: depth.points.map((p) => p.running)}]),
    chart("throughput-chart", "Throughput (calls ended per second)", [
      {name: "per s", color: "#1a7f37", values: depth.points.map((p) => p.perSecond)}]));
}

function cancelButton(call) {
  return el("button", {type: "button", class: "cancel", "data-id": call.id, onclick: async (event) => {
    event.target.disabled = true;
    try { await api("/calls/" + call.id + "/cancel", {method: "POST"}); }
    catch (error) { event.target.replaceWith(el("span", {class: "error"}, error.message)); }
  }}, "Cancel");
}

function callRow(call, seen) {
  return el("tr", {class: "call", "data-id": call.id, "data-state": call.state, "data-seen": seen.join(" ")},
    el("td", {}, callLink(call.id)),
    el("td", {}, call.function),
    el("td", {}, call.dialect),
    el("td", {}, state(call.state)),
    el("td", {class: "num"}, call.attempts),
    el("td", {}, time(call.created)),
    el("td", {class: "num"}, millis(call.waitMs)),
    el("td", {class: "num"}, millis(call.durationMs)),
    el("td", {}, LIVE.has(call.state) ? cancelButton(call) : ""));
}

function filterSelect(name, values, chosen) {
  return el("label", {}, name + " ",
    el("select", {id: "filter-" + name, name: name}, el("option", {value: ""}, "any"),
      values.map((v) => el("option", {value: v, selected: v === chosen}, v))));
}

async function callsView(params) {
  const functions = (await api("/functions")).map((fn) => fn.name);
  const chosen = {function: params.get("function") || "", state: params.get("state") || "",
    dialect: params.get("dialect") || ""};
  const filters = el("form", {class: "filters", id: "filters"},
    filterSelect("function", functions, chosen.function),
    filterSelect("state", STATES, chosen.state),
    filterSelect("dialect", DIALECTS, chosen.dialect));
  filters.addEventListener("change", () => {
    const query = new URLSearchParams();
    for (const name of Object.keys(chosen)) {
      const value = document.getElementById("filter-" + name).value;
      if (value) query.set(name, value);
    }
    location.hash = "#/calls" + (query.toString() ? "?" + query : "");
  });
  const body = el("tbody", {id: "calls-body"});
  const status = el("span", {id: "live", class: "muted"}, "connecting…");
  show(el("h2", {}, "Calls ", status), el("div", {class: "charts", id: "charts"}), filters,
    el("table", {id: "calls"},
      el("thead", {}, el("tr", {}, ["Call", "Function", "Dialect", "State", "Attempts",
        "Created", "Wait", "Duration", ""].map((h) => el("th", {}, h)))), body));
  drawCharts();
  const calls = new Map();   // id -> {call, seen: [states in the order seen]}
  const render = () => {
    const ordered = [...calls.values()].sort((a, b) => b.call.id < a.call.id ? -1 : 1).slice(0, 100);
    body.replaceChildren(...ordered.map((entry) => callRow(entry.call, entry.seen)));
  };
  const query = new URLSearchParams(Object.entries(chosen).filter(([, v]) => v));
  stream = new EventSource(API + "/events" + (query.toString() ? "?" + query : ""));
  stream.addEventListener("open", () => { status.textContent = "live"; });
  stream.addEventListener("error", () => {
    status.textContent = "reconnecting…";
    // a stream refused for an ended session would be retried for ever: sign out instead
    fetch(API + "/session", {credentials: "same-origin"})
      .then((answer) => { if (answer.status === 401) signedOut(); })
      .catch(() => {});
  });
  stream.addEventListener("calls", (event) => {
    for (const call of JSON.parse(event.data)) {
      const entry = calls.get(call.id) || {seen: []};
      if (entry.seen[entry.seen.length - 1] !== call.state) entry.seen.push(call.state);
      entry.call = call;
      calls.set(call.id, entry);
    }
    render();
  });
  stream.addEventListener("stats", (event) => { depth.add(JSON.parse(event.data)); drawCharts(); });
}

// ---- one call -------------------------------------------------------------------------------

function field(name, ...value) { return [el("div", {class: "muted"}, name), el("div", {}, ...value)]; }

function relations(ids, label) {
  return ids.length ? ids.map((item) => el("div", {}, item.relation ? item.relation + ": " : "", callLink(item.id || item))) : label;
}

function callbackFields(callback) {
  if (!callback) return el("p", {class: "muted"}, "No callback.");
  return el("div", {class: "grid", id: "callback"},
    field("URL", callback.url), field("State", callback.state),
    field("Attempts", callback.attempts), field("Last status", callback.lastStatus || ""),
    field("Last error", callback.lastError || ""), field("Settled", date(callback.settled)),
    field("Next try", date(callback.due)));
}

async function callView(id) {
  const call = await api("/calls/" + id);
  show(el("h2", {}, "Call ", el("code", {}, call.id), " ", state(call.state),
      LIVE.has(call.state) ? [" ", cancelButton(call)] : []),
    el("div", {class: "grid", id: "call"},
      field("Function", el("a", {href: "#/calls?function=" + encodeURIComponent(call.function)}, call.function)),
      field("Dialect", call.dialect), field("Kind", call.kind || ""),
      field("Attempts", call.attempts), field("Created", date(call.created)),
      field("Started", date(call.started)), field("Ended", date(call.ended)),
      field("Wait", millis(call.waitMs)), field("Init", millis(call.initMs)),
      field("Duration", millis(call.durationMs)),
      field("Parents", relations(call.parents, "none")),
      field("Children", relations(call.children, "none"))),
    el("h3", {}, "Parameters"), el("pre", {id: "params"}, json(call.params)),
    el("h3", {}, "Result"), el("pre", {id: "result"}, call.result === undefined || call.result === null ? "" : json(call.result)),
    el("h3", {}, "Logs"), el("pre", {id: "logs"}, call.logs.join("\n")),
    el("h3", {}, "Callback"), callbackFields(call.callback));
  if (LIVE.has(call.state)) refresh = setTimeout(() => callView(id).catch(fail), 1000);
}

// ---- dead letters, triggers ------------------------------------------------------------------

async function deadLettersView() {
  const found = await api("/dead-letters");
  const rows = found.map((letter) => el("tr", {class: "dead-letter", "data-id": letter.id},
    el("td", {}, callLink(letter.id)), el("td", {}, letter.function), el("td", {}, letter.dialect),
    el("td", {}, state(letter.state)), el("td", {}, letter.reason), el("td", {}, date(letter.dead)),
    el("td", {}, el("button", {type: "button", class: "redrive", onclick: async (event) => {
      event.target.disabled = true;
      try {
        const again = await api("/dead-letters/" + letter.id + "/redrive", {method: "POST"});
        event.target.replaceWith(el("span", {class: "redriven"}, "redriven as ", callLink(again.id)));
      } catch (error) { event.target.replaceWith(el("span", {class: "error"}, error.message)); }
    }}, "Redrive"))));
  show(el("h2", {}, "Dead letters"), found.length ? el("table", {id: "dead-letters"},
    el("tr", {}, ["Call", "Function", "Dialect", "State", "Reason", "Dead since", ""].map((h) => el("th", {}, h))),
    rows) : el("p", {class: "muted"}, "No dead letters."));
}

function schedule(alarm) {
  if (!alarm) return "";
  const what = alarm.cron ? "cron " + alarm.cron : alarm.minutes ? "every " + alarm.minutes + " min" : "once";
  return what + " (" + alarm.status + ", fired " + alarm.fired + ")";
}

async function triggersView() {
  const found = await api("/triggers");
  show(el("h2", {}, "Triggers"),
    found.triggers.length ? el("table", {id: "triggers"},
      el("tr", {}, ["Trigger", "Alarm", "Next fire"].map((h) => el("th", {}, h))),
      found.triggers.map((t) => el("tr", {"data-trigger": t.name}, el("td", {}, t.name),
        el("td", {}, schedule(t.alarm)), el("td", {class: "next-fire"}, t.alarm ? date(t.alarm.next) : "")))) :
      el("p", {class: "muted"}, "No triggers."),
    el("h2", {}, "Rules"),
    found.rules.length ? el("table", {id: "rules"},
      el("tr", {}, ["Rule", "Trigger", "Action", "Status"].map((h) => el("th", {}, h))),
      found.rules.map((r) => el("tr", {"data-rule": r.name}, el("td", {}, r.name), el("td", {}, r.trigger),
        el("td", {}, r.action), el("td", {}, r.status)))) :
      el("p", {class: "muted"}, "No rules."));
}

// ---- routing --------------------------------------------------------------------------------

function route() {
  stop();
  const [path, query] = (location.hash.slice(1) || "/calls").split("?");
  const params = new URLSearchParams(query || "");
  for (const link of document.querySelectorAll("#nav a")) {
    link.classList.toggle("here", path.startsWith(link.getAttribute("href").slice(1)));
  }
  let shown;
  if (path.startsWith("/call/")) shown = callView(path.slice(6));
  else if (path === "/functions") shown = functionsView();
  else if (path === "/dead-letters") shown = deadLettersView();
  else if (path === "/triggers") shown = triggersView();
  else shown = callsView(params);
  shown.catch(fail);
}

window.addEventListener("hashchange", () => {
  if (!document.getElementById("nav").hidden) route();
});

fetch(API + "/session", {credentials: "same-origin"})
  .then((answer) => answer.ok ? answer.json() : null)
  .then((body) => body ? signedIn(body.namespace) : signedOut())
  .catch(signedOut);
