// The Ferry daemon's page: plain JS over the local API (/api/v1), with
// the session's CSRF token on every request that changes something.
"use strict";

const csrf = document.querySelector('meta[name="csrf-token"]').content;

async function api(method, path, body) {
  const opts = { method, headers: { "X-CSRF-Token": csrf } };
  if (body instanceof FormData) {
    opts.body = body;
  } else if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  const res = await fetch(path, opts);
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    throw new Error(data.error || res.statusText);
  }
  return data;
}

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "onclick") e.addEventListener("click", v);
    else e.setAttribute(k, v);
  }
  for (const k of kids) e.append(k);
  return e;
}

function size(n) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(1) : n) + " " + units[i];
}

function duration(s) {
  if (!s) return "";
  if (s < 60) return Math.ceil(s) + " s";
  if (s < 3600) return Math.floor(s / 60) + " min " + Math.round(s % 60) + " s";
  return Math.floor(s / 3600) + " h " + Math.round((s % 3600) / 60) + " min";
}

function who(name, id) { return name || (id || "").slice(0, 7); }

function fill(list, items, empty) {
  list.replaceChildren(...(items.length ? items : [el("li", { class: "empty" }, empty)]));
}

async function loadIdentity() {
  const me = await api("GET", "/api/v1/identity");
  document.getElementById("me-name").textContent = me.name;
  document.getElementById("me-id").textContent = me.id;
}

async function loadPeers() {
  const peers = await api("GET", "/api/v1/peers");
  fill(document.getElementById("peers"), peers.map((p) =>
    el("li", { class: "peer", "data-id": p.id },
      el("b", {}, p.name || "(no name)"), " ",
      el("span", { class: "peer-id" }, p.id), " ",
      el("span", { class: "peer-via" }, "via " + p.source + " " + (p.addrs || []).join(", ")))),
    "No peers in sight.");
  const sel = document.getElementById("send-to");
  const chosen = sel.value;
  sel.replaceChildren(...peers.map((p) => el("option", { value: p.id }, who(p.name, p.id) + " (" + p.id.slice(0, 7) + ")")));
  if (chosen) sel.value = chosen;
}

async function answer(id, verb) {
  try {
    await api("POST", "/api/v1/offers/" + id + "/" + verb);
  } catch (e) {
    alert(verb + ": " + e.message);
  }
  refresh();
}

async function loadOffers() {
  const offers = await api("GET", "/api/v1/offers");
  fill(document.getElementById("offers"), offers.map((o) =>
    el("li", { class: "offer", "data-id": o.id },
      el("b", {}, who(o.peer_name, o.peer)),
      o.files + " file(s), " + size(o.total) + ": " + o.names.join(", "),
      el("button", { class: "accept", onclick: () => answer(o.id, "accept") }, "Accept"),
      el("button", { class: "refuse", onclick: () => answer(o.id, "refuse") }, "Refuse"))),
    "No offer waiting.");
}

async function control(id, verb) {
  try {
    await api("POST", "/api/v1/transfers/" + id + "/" + verb);
  } catch (e) {
    alert(verb + ": " + e.message);
  }
  refresh();
}

async function loadTransfers() {
  const ts = await api("GET", "/api/v1/transfers");
  const rows = ts.map((t) => {
    const buttons = el("td", {});
    if (t.direction === "send" && (t.state === "running" || t.state === "waiting")) {
      buttons.append(el("button", { onclick: () => control(t.transfer, "pause") }, "Pause"));
    }
    if (t.direction === "send" && t.state === "paused") {
      buttons.append(el("button", { onclick: () => control(t.transfer, "resume") }, "Resume"));
    }
    if (t.direction === "send" && t.state !== "done") {
      buttons.append(el("button", { onclick: () => control(t.transfer, "cancel") }, "Cancel"));
    }
    const bar = el("progress", { max: "100", value: String(t.percent) });
    return el("tr", { class: "transfer", "data-id": t.transfer, "data-state": t.state || "" },
      el("td", {}, t.direction === "send" ? "to" : "from"),
      el("td", {}, who(t.peer_name, t.peer)),
      el("td", {}, bar, " ", el("span", { class: "percent" }, t.percent.toFixed(1) + "%"), " (" + size(t.done) + " of " + size(t.total) + ")"),
      el("td", { class: "rate" }, t.rate ? size(t.rate) + "/s" : ""),
      el("td", { class: "eta" }, duration(t.eta_seconds)),
      el("td", { class: "route" }, t.route ? t.route + (t.transport ? " (" + t.transport + ")" : "") : (t.transport || "")),
      el("td", { class: "state" }, t.state || "", t.last_error ? ": " + t.last_error : ""),
      buttons);
  });
  const body = document.querySelector("#transfers tbody");
  body.replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { class: "empty", colspan: "8" }, "No transfers."))]));
}

let pending = null;
function refresh() {
  if (pending) return;
  pending = setTimeout(async () => {
    pending = null;
    try {
      await Promise.all([loadPeers(), loadOffers(), loadTransfers()]);
    } catch (e) {
      console.error(e);
    }
  }, 150);
}

document.getElementById("send").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const status = document.getElementById("send-status");
  const form = new FormData();
  form.append("to", document.getElementById("send-to").value);
  for (const f of document.getElementById("send-files").files) form.append("file", f, f.name);
  status.textContent = "uploading…";
  try {
    const sent = await api("POST", "/api/v1/upload", form);
    status.textContent = "sending transfer " + sent.transfer.slice(0, 8);
  } catch (e) {
    status.textContent = "not sent: " + e.message;
  }
  refresh();
});

const events = new EventSource("/api/v1/events");
events.onmessage = () => refresh();

loadIdentity().catch(console.error);
refresh();
setInterval(refresh, 1000);
