// The backplane observer page. No dependencies: it loads api/snapshot,
// then follows api/events (server-sent events), and draws the devices on a
// canvas with a force layout whose repulsion uses a grid, so each step costs
// about O(devices + links) and a few thousand devices stay usable.
"use strict";
(function () {
  const MODE = { monitor: 1, notify: 2, peer: 3 };
  const MODE_NAME = ["", "monitor", "notify", "peer"];
  const MAX_DRAW = 4000;    // devices drawn on the canvas at most
  const MAX_ROWS = 500;     // rows in the list view
  const MAX_FEED = 200;     // faults kept in the feed
  const MAX_EVENTS = 300;   // lines kept in the event log
  const RESYNC_MS = 10000;  // full snapshot reload (forgotten devices go)
  const POLL_MS = 2000;     // polling when the event stream is unavailable

  const $ = (id) => document.getElementById(id);
  const devices = new Map(); // id -> device
  let seq = 0, stats = {}, canShutdown = false, selected = "", omitted = 0;
  let source = null, pollTimer = 0, faultCount = 0;

  // ---- model -------------------------------------------------------------

  function dev(id) {
    let d = devices.get(id);
    if (!d) {
      d = { id, node: nodeOf(id), name: "", state: "alive", links: new Map(), children: new Set(), supervisor: "",
            fault: null, is_supervisor: false, tracked: false, x: NaN, y: NaN, vx: 0, vy: 0 };
      devices.set(id, d);
    }
    return d;
  }

  // Device IDs are strings: "#7" here, "#7@db/5f3a9c" on node db in its
  // incarnation 5f3a9c. idText shows them without the incarnation.
  function idText(id) { return String(id).replace(/\/[0-9a-f]+$/, ""); }
  function nodeOf(id) { const i = String(id).indexOf("@"); return i < 0 ? "" : String(id).slice(i + 1).replace(/\/[0-9a-f]+$/, ""); }
  function seqOf(id) { return parseInt(String(id).slice(1), 10) || 0; }
  function byID(a, b) { return seqOf(a) - seqOf(b) || (a < b ? -1 : a > b ? 1 : 0); }

  function loadSnapshot(s) {
    const old = devices;
    const keep = new Map();
    for (const info of s.devices) {
      const prev = old.get(info.id);
      const d = { id: info.id, name: info.name || "", state: info.state, fault: info.fault || null,
        links: new Map(), children: new Set(info.children || []), supervisor: info.supervisor || "",
        is_supervisor: !!info.is_supervisor, restarts: info.restarts || 0, restart_limit: !!info.restart_limit,
        abandoned: !!info.abandoned, tracked: !!info.tracked, since: info.since, down_at: info.down_at, node: info.node || "",
        x: prev ? prev.x : NaN, y: prev ? prev.y : NaN, vx: 0, vy: 0 };
      for (const l of info.links) d.links.set(l.peer, MODE[l.mode] || 0);
      keep.set(d.id, d);
    }
    devices.clear();
    for (const [k, v] of keep) devices.set(k, v);
    seq = s.seq; stats = s.stats; canShutdown = s.shutdown; omitted = s.omitted;
    $("faults").textContent = ""; faultCount = 0; group = null;
    for (const e of s.faults) addFault(e);
    $("events").textContent = "";
    for (const e of s.events) addEventLine(e);
    changed(true);
  }

  function flip(m) { return ((m & 1) << 1) | ((m & 2) >> 1); }

  function apply(e) {
    if (e.seq <= seq) return; // already in the snapshot
    seq = e.seq;
    stats.events = e.seq;
    switch (e.kind) {
    case "created": {
      const d = dev(e.device); d.name = e.name || d.name; d.state = "alive";
      stats.alive = (stats.alive || 0) + 1; stats.created = (stats.created || 0) + 1;
      break;
    }
    case "linked": case "unlinked": {
      const a = dev(e.device), b = dev(e.peer);
      if (a.state === "down" || b.state === "down") break;
      const old = a.links.get(b.id) || 0, m = MODE[e.mode] || 0;
      const nm = e.kind === "linked" ? (old | m) : (old & ~m);
      if (old && !nm) stats.links--; else if (!old && nm) stats.links++;
      if (nm) { a.links.set(b.id, nm); b.links.set(a.id, flip(nm)); }
      else { a.links.delete(b.id); b.links.delete(a.id); }
      break;
    }
    case "disconnected": {
      const d = devices.get(e.device);
      const k = e.fault ? e.fault.kind : "clean";
      stats.disconnects = stats.disconnects || {};
      stats.disconnects[k] = (stats.disconnects[k] || 0) + 1;
      if (!d || d.state === "down") break;
      d.state = "down"; d.fault = e.fault || null; d.tracked = false; d.down_at = e.time;
      for (const p of d.links.keys()) { const pd = devices.get(p); if (pd) pd.links.delete(d.id); }
      stats.links -= d.links.size; d.links.clear();
      stats.alive--; stats.down = (stats.down || 0) + 1;
      break;
    }
    case "child started": case "child restarted": {
      const s = e.supervisor ? dev(e.supervisor) : null;
      if (s) s.is_supervisor = true;
      if (e.device) {
        const c = dev(e.device);
        if (!c.name && e.name) c.name = e.name;
        if (s && c !== s && c.supervisor !== s.id) {
          const o = devices.get(c.supervisor); if (o) o.children.delete(c.id);
          c.supervisor = s.id; s.children.add(c.id);
        }
      }
      if (e.kind === "child restarted") {
        if (s) s.restarts = (s.restarts || 0) + 1;
        stats.restarts = (stats.restarts || 0) + 1;
      }
      break;
    }
    case "child abandoned": {
      const c = devices.get(e.device); if (c) c.abandoned = true;
      stats.abandoned = (stats.abandoned || 0) + 1;
      break;
    }
    case "restart limit reached": {
      const s = devices.get(e.supervisor); if (s) s.restart_limit = true;
      stats.restart_limits = (stats.restart_limits || 0) + 1;
      break;
    }
    }
    addEventLine(e);
    if (e.fault && e.kind === "disconnected" || e.kind === "child abandoned" || e.kind === "restart limit reached" ||
        e.kind === "child start failed") addFault(e);
  }

  // ---- live updates --------------------------------------------------------

  async function resync() {
    try {
      const r = await fetch("api/snapshot?limit=" + 20000 + "&events=" + MAX_EVENTS, { cache: "no-store" });
      if (!r.ok) throw new Error("HTTP " + r.status);
      loadSnapshot(await r.json());
      return true;
    } catch (err) {
      setStatus("offline", "offline: " + err.message);
      return false;
    }
  }

  function connect() {
    if (!window.EventSource) { poll(); return; }
    source = new EventSource("api/events?since=" + seq);
    source.addEventListener("open", () => setStatus("live", "live"));
    source.addEventListener("events", (m) => { for (const e of JSON.parse(m.data)) apply(e); changed(true); });
    source.addEventListener("reset", () => { resync(); });
    source.addEventListener("error", () => setStatus("offline", "reconnecting"));
  }

  function poll() {
    setStatus("polling", "polling");
    clearTimeout(pollTimer);
    pollTimer = setTimeout(async () => { await resync(); poll(); }, POLL_MS);
  }

  function setStatus(cls, text) { const s = $("status"); s.className = "status " + cls; s.textContent = text; }

  // ---- rendering: side panels ---------------------------------------------

  let dirty = false, sideDirty = false;
  function changed(side) { dirty = true; if (side) sideDirty = true; heat(0.3); }

  function el(tag, attrs, ...kids) {
    const n = document.createElement(tag);
    if (attrs) for (const k in attrs) { if (k === "class") n.className = attrs[k]; else if (k === "text") n.textContent = attrs[k]; else n.setAttribute(k, attrs[k]); }
    for (const k of kids) if (k != null) n.append(k);
    return n;
  }

  function label(id, name) { return idText(id) + (name ? " " + name : ""); }
  function nameOf(id) { const d = devices.get(id); return d ? d.name : ""; }
  function devLink(id, name) {
    const a = el("a", { class: "devlink", text: label(id, name === undefined ? nameOf(id) : name) });
    a.addEventListener("click", () => select(id));
    return a;
  }
  function fmtTime(t) { return t ? new Date(t).toLocaleTimeString() : ""; }

  function faultBlock(f) {
    const box = el("div");
    if (!f) return box;
    box.append(el("div", null, el("span", { class: "badge " + f.kind, text: f.kind }), f.error));
    if (f.chain && f.chain.length) {
      const c = el("div", { class: "chain" }, "cascade: ");
      f.chain.forEach((h, i) => {
        if (i) c.append(" \u2190 ");
        c.append(devLink(h.device, h.name || nameOf(h.device)));
        if (i === f.chain.length - 1) c.append(" (" + h.kind + ")");
      });
      box.append(c);
    }
    const root = f.root || f;
    if (f.root && f.root_device) box.append(el("div", { class: "muted" }, "root: ", devLink(f.root_device), " " + root.error));
    if (root.stack) {
      box.append(el("details", null, el("summary", { text: "panic stack" + (root.panic ? ": " + root.panic : "") }), el("pre", { text: root.stack })));
    }
    return box;
  }

  // A cascade takes many devices down with one root fault: the feed shows
  // the root's item once and counts the devices that went down with it.
  let group = null; // {key, li, names, more}

  function faultKey(e) {
    if (!e.fault || e.kind !== "disconnected") return "";
    return e.fault.kind === "cascade" ? "root:" + e.fault.root_device : "root:" + e.device;
  }

  function addFault(e) {
    const ol = $("faults");
    const key = faultKey(e);
    if (key && group && group.key === key && group.li === ol.firstElementChild) {
      group.names.push(label(e.device, e.name));
      group.more.textContent = group.names.length + " device" + (group.names.length > 1 ? "s" : "") +
        " went down with it: " + group.names.slice(0, 8).join(", ") + (group.names.length > 8 ? ", \u2026" : "");
      return;
    }
    const li = el("li", null, el("time", { text: fmtTime(e.time) + " " }),
      e.device ? devLink(e.device, e.name) : null, " ", el("span", { class: "badge sup", text: e.kind }));
    if (e.supervisor) li.append(" by ", devLink(e.supervisor));
    if (e.error) li.append(el("div", { text: e.error }));
    if (e.fault) li.append(faultBlock(e.fault));
    const more = el("div", { class: "muted" });
    li.append(more);
    ol.prepend(li);
    group = key ? { key, li, names: [], more } : null;
    while (ol.childElementCount > MAX_FEED) ol.lastElementChild.remove();
    faultCount++;
  }

  function addEventLine(e) {
    const ol = $("events");
    ol.prepend(el("li", null, el("time", { text: fmtTime(e.time) + " " }), e.text));
    while (ol.childElementCount > MAX_EVENTS) ol.lastElementChild.remove();
  }

  function stateClass(d) {
    if (d.state !== "down") return "alive";
    if (!d.fault) return "clean";
    return d.fault.kind === "cascade" ? "cascade" : "fault";
  }

  function renderStats() {
    const s = stats, dis = s.disconnects || {};
    let faults = 0;
    for (const k in dis) if (k !== "clean") faults += dis[k];
    const parts = [["alive", s.alive], ["down", s.down], ["links", s.links], ["faults", faults],
      ["restarts", s.restarts], ["abandoned", s.abandoned], ["events", s.events]];
    const box = $("stats"); box.textContent = "";
    for (const [k, v] of parts) box.append(el("span", null, el("b", { text: String(v || 0) }), " " + k));
  }

  function matches(d, q) {
    if (!q) return true;
    if (q[0] === "#") return d.id === q || idText(d.id) === q;
    return d.name.toLowerCase().includes(q) || idText(d.id).slice(1) === q || (d.node || "").toLowerCase() === q;
  }

  function renderList() {
    const q = $("search").value.trim().toLowerCase(), showDown = $("showDown").checked;
    const tb = $("list").tBodies[0]; tb.textContent = "";
    const rows = [];
    for (const d of devices.values()) if ((showDown || d.state !== "down") && matches(d, q)) rows.push(d);
    rows.sort(newestAliveFirst);
    const total = rows.length, n = Math.min(total, MAX_ROWS);
    for (const d of rows.slice(0, n)) {
      const tr = el("tr", null, el("td", { text: idText(d.id) }), el("td", { text: d.name }),
        el("td", { class: "st-" + (stateClass(d) === "alive" ? "alive" : stateClass(d) === "clean" ? "down" : stateClass(d)), text: d.state }),
        el("td", { text: d.fault ? d.fault.kind : "" }), el("td", { text: String(d.links.size) }),
        el("td", { text: d.supervisor ? idText(d.supervisor) : "" }), el("td", { text: d.children.size ? String(d.children.size) : "" }));
      tr.addEventListener("click", () => select(d.id));
      tb.append(tr);
    }
    $("listNote").textContent = total > n ? "showing " + n + " of " + total + " devices; filter to narrow" : total + " devices";
  }

  // newestAliveFirst orders devices alive first, then newest first.
  function newestAliveFirst(a, b) { return (a.state === "down") - (b.state === "down") || byID(b.id, a.id); }

  function renderTree() {
    const box = $("tree"); box.textContent = "";
    const roots = [];
    for (const d of devices.values()) if (d.is_supervisor && !(d.supervisor && devices.has(d.supervisor))) roots.push(d);
    if (!roots.length) { box.append(el("p", { class: "muted", text: "No supervisor events yet." })); return; }
    let budget = 3000;
    const seen = new Set();
    function node(d) {
      const li = el("li", null, el("span", { class: "dot " + stateClass(d) }), devLink(d.id, d.name));
      if (d.is_supervisor) li.append(el("span", { class: "muted", text: " supervisor" + (d.restarts ? ", " + d.restarts + " restarts" : "") }));
      if (d.restart_limit) li.append(" ", el("span", { class: "badge panic", text: "restart limit" }));
      if (d.abandoned) li.append(" ", el("span", { class: "badge", text: "abandoned" }));
      if (d.children.size && !seen.has(d.id)) {
        seen.add(d.id);
        const ul = el("ul");
        for (const c of [...d.children].sort(byID)) {
          if (--budget < 0) { ul.append(el("li", { class: "muted", text: "\u2026" })); break; }
          const cd = devices.get(c);
          if (cd) ul.append(node(cd));
        }
        li.append(ul);
      }
      return li;
    }
    const ul = el("ul");
    for (const r of roots.sort(newestAliveFirst)) ul.append(node(r));
    box.append(ul);
  }

  function renderDevice() {
    const box = $("device"); box.textContent = "";
    const d = devices.get(selected);
    if (!d) { box.append(el("p", { class: "muted", text: selected ? "Device " + idText(selected) + " is gone." : "Click a device." })); return; }
    const dl = el("dl");
    const row = (k, v) => { dl.append(el("dt", { text: k }), el("dd", null, v)); };
    row("id", idText(d.id)); row("name", d.name || "\u2014");
    row("state", el("span", { class: "st-" + (d.state === "alive" ? "alive" : "down"), text: d.state }));
    if (d.since) row("since", fmtTime(d.since));
    if (d.down_at) row("down at", fmtTime(d.down_at));
    if (d.supervisor) row("supervisor", devLink(d.supervisor));
    if (d.restarts) row("restarts", String(d.restarts));
    if (d.abandoned) row("abandoned", "yes");
    if (d.restart_limit) row("restart limit", "reached");
    box.append(dl);
    if (d.fault) { box.append(el("h4", { text: "fault" }), faultBlock(d.fault)); }
    const links = el("ul");
    for (const [p, m] of [...d.links].sort((a, b) => byID(a[0], b[0])).slice(0, 500)) links.append(el("li", null, MODE_NAME[m] + " ", devLink(p)));
    box.append(el("h4", { text: "links (" + d.links.size + ")" }), links);
    if (d.children.size) {
      const ch = el("ul");
      for (const c of [...d.children].sort(byID).slice(0, 500)) ch.append(el("li", null, devLink(c)));
      box.append(el("h4", { text: "children (" + d.children.size + ")" }), ch);
    }
    if (canShutdown && d.state === "alive") {
      const b = el("button", { class: "danger", text: "request shutdown" });
      if (!d.tracked) { b.disabled = true; b.title = "the recorder holds no line to this device (Recorder.Track)"; }
      const out = el("div", { class: "muted" });
      b.addEventListener("click", async () => {
        if (!confirm("Ask device " + idText(d.id) + " " + d.name + " to shut down?")) return;
        const r = await fetch("api/shutdown?device=" + encodeURIComponent(d.id), { method: "POST" });
        const j = await r.json().catch(() => ({}));
        out.textContent = r.ok ? "shutdown requested" : (j.error || "HTTP " + r.status);
      });
      box.append(b, out);
    }
  }

  function select(id) {
    selected = id;
    showTab("device");
    renderDevice();
    const d = devices.get(id);
    if (d && isFinite(d.x)) { view.x = -d.x * view.k; view.y = -d.y * view.k; autoFit = false; }
    dirty = true;
  }

  function showTab(name) {
    for (const b of document.querySelectorAll(".tabs button")) b.classList.toggle("active", b.dataset.tab === name);
    for (const t of document.querySelectorAll(".tab")) t.hidden = t.id !== "tab-" + name;
    sideDirty = true;
  }

  // ---- graph -------------------------------------------------------------

  const canvas = $("graph"), ctx = canvas.getContext("2d");
  const view = { x: 0, y: 0, k: 1 }; // screen = centre + view + world*k
  let alpha = 1, shown = [], capped = 0, autoFit = true; // autoFit until the user pans or zooms

  // fit moves the view towards one that shows every drawn device.
  function fit() {
    if (!shown.length) return;
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    for (const d of shown) {
      if (!isFinite(d.x)) continue;
      x0 = Math.min(x0, d.x); x1 = Math.max(x1, d.x); y0 = Math.min(y0, d.y); y1 = Math.max(y1, d.y);
    }
    if (!isFinite(x0)) return;
    const w = canvas.clientWidth, h = canvas.clientHeight, pad = 40;
    const k = Math.min(4, Math.max(0.05, Math.min((w - 2 * pad) / (x1 - x0 + 1), (h - 2 * pad) / (y1 - y0 + 1))));
    const tx = -(x0 + x1) / 2 * k, ty = -(y0 + y1) / 2 * k;
    view.k += (k - view.k) * 0.2; view.x += (tx - view.x) * 0.2; view.y += (ty - view.y) * 0.2;
  }

  function heat(a) { alpha = Math.max(alpha, a); }

  function visible() {
    const showDown = $("showDown").checked;
    const out = [];
    for (const d of devices.values()) {
      if (!showDown && d.state === "down") continue;
      out.push(d);
    }
    capped = Math.max(0, out.length - MAX_DRAW);
    if (capped) {
      out.sort(newestAliveFirst);
      out.length = MAX_DRAW;
    }
    return out;
  }

  function place(d) {
    let ref = devices.get(d.supervisor);
    if (!ref || !isFinite(ref.x)) for (const p of d.links.keys()) { const pd = devices.get(p); if (pd && isFinite(pd.x)) { ref = pd; break; } }
    const r = ref && isFinite(ref.x) ? 30 : 40 * Math.sqrt(devices.size + 1);
    const a = Math.random() * 2 * Math.PI, s = Math.random() * r;
    d.x = (ref && isFinite(ref.x) ? ref.x : 0) + Math.cos(a) * s;
    d.y = (ref && isFinite(ref.y) ? ref.y : 0) + Math.sin(a) * s;
  }

  function step() {
    const nodes = shown, n = nodes.length, cell = 50, rep = 600 * alpha;
    const grid = new Map();
    for (const d of nodes) {
      if (!isFinite(d.x)) place(d);
      const key = Math.floor(d.x / cell) + "," + Math.floor(d.y / cell);
      let b = grid.get(key); if (!b) grid.set(key, b = []); b.push(d);
    }
    for (const d of nodes) {
      const gx = Math.floor(d.x / cell), gy = Math.floor(d.y / cell);
      for (let i = -1; i <= 1; i++) for (let j = -1; j <= 1; j++) {
        const b = grid.get((gx + i) + "," + (gy + j)); if (!b) continue;
        for (const o of b) {
          if (o === d) continue;
          let dx = d.x - o.x, dy = d.y - o.y, q = dx * dx + dy * dy;
          if (q > cell * cell) continue;
          if (q < 0.01) { dx = Math.random() - 0.5; dy = Math.random() - 0.5; q = 0.5; }
          const f = rep / q; d.vx += dx * f; d.vy += dy * f;
        }
      }
    }
    const spring = (a, b, len, s) => {
      if (!b || !isFinite(b.x)) return;
      const dx = b.x - a.x, dy = b.y - a.y, dist = Math.sqrt(dx * dx + dy * dy) || 1;
      const f = (dist - len) / dist * s * alpha;
      a.vx += dx * f; a.vy += dy * f; b.vx -= dx * f; b.vy -= dy * f;
    };
    for (const d of nodes) {
      for (const p of d.links.keys()) if (p > d.id) spring(d, devices.get(p), 40, 0.05);
      if (d.supervisor) spring(d, devices.get(d.supervisor), 50, 0.08);
      d.vx -= d.x * 0.002 * alpha; d.vy -= d.y * 0.002 * alpha; // gravity
    }
    for (const d of nodes) {
      d.vx *= 0.6; d.vy *= 0.6;
      const v = Math.hypot(d.vx, d.vy); if (v > 20) { d.vx *= 20 / v; d.vy *= 20 / v; }
      d.x += d.vx; d.y += d.vy;
    }
    alpha *= n > 1500 ? 0.97 : 0.985;
  }

  const COLORS = {};
  function color(name) { return COLORS[name] || (COLORS[name] = getComputedStyle(document.documentElement).getPropertyValue("--" + name).trim()); }

  function draw() {
    const w = canvas.clientWidth, h = canvas.clientHeight, dpr = window.devicePixelRatio || 1;
    if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) { canvas.width = Math.round(w * dpr); canvas.height = Math.round(h * dpr); }
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    ctx.translate(w / 2 + view.x, h / 2 + view.y);
    ctx.scale(view.k, view.k);
    const on = new Set(shown.map((d) => d.id));
    ctx.lineWidth = 1 / view.k;
    ctx.strokeStyle = "rgba(139,148,158,0.45)";
    ctx.beginPath();
    for (const d of shown) for (const p of d.links.keys()) {
      if (p < d.id || !on.has(p)) continue;
      const o = devices.get(p); ctx.moveTo(d.x, d.y); ctx.lineTo(o.x, o.y);
    }
    ctx.stroke();
    ctx.strokeStyle = "rgba(88,166,255,0.5)";
    ctx.setLineDash([4 / view.k, 3 / view.k]);
    ctx.beginPath();
    for (const d of shown) if (d.supervisor && on.has(d.supervisor)) { const s = devices.get(d.supervisor); ctx.moveTo(s.x, s.y); ctx.lineTo(d.x, d.y); }
    ctx.stroke();
    ctx.setLineDash([]);
    const q = $("search").value.trim().toLowerCase();
    const labels = view.k > 1.5 || shown.length < 150;
    ctx.font = 11 / view.k + "px system-ui, sans-serif";
    for (const d of shown) {
      const r = (d.is_supervisor ? 6 : 4) / Math.sqrt(view.k) * (view.k < 1 ? 1 : 1);
      ctx.globalAlpha = q && !matches(d, q) ? 0.15 : 1;
      ctx.fillStyle = color(stateClass(d) === "fault" ? "fault" : stateClass(d));
      if (d.abandoned) ctx.fillStyle = color("abandoned");
      ctx.beginPath(); ctx.arc(d.x, d.y, r, 0, 2 * Math.PI); ctx.fill();
      if (d.is_supervisor || d.id === selected) {
        ctx.lineWidth = (d.id === selected ? 3 : 1.5) / view.k;
        ctx.strokeStyle = d.id === selected ? "#fff" : d.restart_limit ? color("fault") : color("sup");
        ctx.stroke();
      }
      if (labels && d.name) { ctx.fillStyle = "#c9d1d9"; ctx.fillText(d.name, d.x + r + 2 / view.k, d.y + 4 / view.k); }
    }
    ctx.globalAlpha = 1;
  }

  function frame() {
    if (dirty) { shown = visible(); }
    if (!$("graphView").hidden && (alpha > 0.02 || dirty)) {
      if (alpha > 0.02) step();
      if (autoFit) fit();
      draw();
    }
    if (dirty || sideDirty) {
      const left = capped + omitted;
      $("graphNote").textContent = left ? "drawing " + shown.length + " devices, " + left + " more not drawn (alive and newest first); use the list view or the filter" : "";
      renderStats();
      if (!$("listView").hidden) renderList();
      if (!$("tab-tree").hidden) renderTree();
      if (!$("tab-device").hidden) renderDevice();
    }
    dirty = false; sideDirty = false;
    requestAnimationFrame(frame);
  }

  function worldAt(ev) {
    const rect = canvas.getBoundingClientRect();
    return { x: (ev.clientX - rect.left - rect.width / 2 - view.x) / view.k, y: (ev.clientY - rect.top - rect.height / 2 - view.y) / view.k };
  }

  function nearest(ev) {
    const p = worldAt(ev), lim = 10 / view.k;
    let best = null, bd = lim * lim;
    for (const d of shown) { const q = (d.x - p.x) ** 2 + (d.y - p.y) ** 2; if (q < bd) { bd = q; best = d; } }
    return best;
  }

  let drag = null;
  canvas.addEventListener("mousedown", (ev) => { drag = { x: ev.clientX, y: ev.clientY, moved: false }; canvas.classList.add("dragging"); });
  window.addEventListener("mouseup", (ev) => {
    if (drag && !drag.moved) { const d = nearest(ev); if (d) select(d.id); }
    drag = null; canvas.classList.remove("dragging");
  });
  canvas.addEventListener("mousemove", (ev) => {
    if (drag) {
      const dx = ev.clientX - drag.x, dy = ev.clientY - drag.y;
      if (Math.abs(dx) + Math.abs(dy) > 2) drag.moved = true;
      view.x += dx; view.y += dy; drag.x = ev.clientX; drag.y = ev.clientY; dirty = true; autoFit = false; return;
    }
    const d = nearest(ev), tip = $("tooltip");
    if (!d) { tip.hidden = true; return; }
    const rect = canvas.getBoundingClientRect();
    tip.hidden = false; tip.style.left = ev.clientX - rect.left + 12 + "px"; tip.style.top = ev.clientY - rect.top + 12 + "px";
    tip.textContent = label(d.id, d.name) + " \u2014 " + d.state + (d.fault ? " (" + d.fault.kind + ")" : "") + ", " + d.links.size + " links";
  });
  canvas.addEventListener("wheel", (ev) => {
    ev.preventDefault();
    const rect = canvas.getBoundingClientRect();
    const cx = ev.clientX - rect.left - rect.width / 2, cy = ev.clientY - rect.top - rect.height / 2;
    const f = Math.exp(-ev.deltaY * 0.0015), k = Math.min(20, Math.max(0.05, view.k * f));
    view.x = cx - (cx - view.x) * k / view.k; view.y = cy - (cy - view.y) * k / view.k; view.k = k;
    dirty = true; autoFit = false;
  }, { passive: false });

  for (const b of document.querySelectorAll(".tabs button")) b.addEventListener("click", () => showTab(b.dataset.tab));
  $("fit").addEventListener("click", () => { autoFit = true; heat(0.05); dirty = true; });
  $("search").addEventListener("input", () => { dirty = true; sideDirty = true; });
  $("showDown").addEventListener("change", () => { dirty = true; sideDirty = true; heat(0.3); });
  $("view").addEventListener("change", () => {
    const list = $("view").value === "list";
    $("listView").hidden = !list; $("graphView").hidden = list; dirty = true; sideDirty = true;
  });
  window.addEventListener("resize", () => { dirty = true; });

  (async function start() {
    await resync();
    connect();
    setInterval(() => { if (source) resync(); }, RESYNC_MS);
    requestAnimationFrame(frame);
  })();
})();
