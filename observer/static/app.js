// The backplane observer page. No dependencies: it loads api/snapshot,
// then follows api/events (server-sent events). Views: a graph drawn on a
// canvas with a force layout (grid-based repulsion, so a step costs about
// O(devices + links)), grouped by supervisor or node when large; a
// virtualised device table; charts of api/series; a timeline of faults.
// Every view shows what is alive now unless "show down" is checked.
"use strict";
(function () {
  const MODE = { monitor: 1, notify: 2, peer: 3 };
  const MODE_NAME = ["", "monitor", "notify", "peer"];
  const MAX_DRAW = 3000;    // items (devices or groups) drawn at most
  const AUTO_GROUP = 1500;  // "auto" groups by supervisor past this many devices
  const MAX_FAULTS = 500;   // faults kept for the timeline
  const MAX_EVENTS = 300;   // lines kept in the event log
  const MAX_LABELS = 400;   // labels drawn per frame at most
  const MAX_MEASURE = 1200; // labels tried per frame at most
  const MAX_STEPS = 8;      // layout steps per frame at most
  const STEP_MS = 6;        // and the time they may take, ms
  const MAX_TREE = 400;     // rows of the supervision tree rendered at most
  const RESYNC_MS = 300000; // full snapshot reload, a safety net: the page forgets down devices itself
  const POLL_MS = 2000;     // polling when the event stream is unavailable
  const ROW = 22;           // table row height, px

  const $ = (id) => document.getElementById(id);
  const devices = new Map(); // id -> device
  let seq = 0, stats = {}, canShutdown = false, selected = "", omitted = 0, nodes = [];
  let source = null, pollTimer = 0, serverSkew = 0;
  const faults = []; // recent fault events, oldest first

  // ---- ids ---------------------------------------------------------------

  // Device IDs are strings: "#7" here, "#7@db/5f3a9c" on node db in its
  // incarnation 5f3a9c. idText shows them without the incarnation.
  function idText(id) { return String(id).replace(/\/[0-9a-f]+$/, ""); }
  function nodeOf(id) { const i = String(id).indexOf("@"); return i < 0 ? "" : String(id).slice(i + 1).replace(/\/[0-9a-f]+$/, ""); }
  function seqOf(id) { return parseInt(String(id).slice(1), 10) || 0; }
  function byID(a, b) { return seqOf(a) - seqOf(b) || (a < b ? -1 : a > b ? 1 : 0); }
  // byDev orders devices as byID orders their IDs, without parsing them.
  function byDev(a, b) { return a.seq - b.seq || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0); }
  const NODE_COLORS = ["#79c0ff", "#d2a8ff", "#ffa657", "#7ee787", "#ff7b72", "#e3b341", "#a5d6ff", "#f778ba"];
  const nodeColors = new Map();
  function nodeColor(n) {
    if (!nodeColors.has(n)) nodeColors.set(n, NODE_COLORS[nodeColors.size % NODE_COLORS.length]);
    return nodeColors.get(n);
  }

  // ---- model -------------------------------------------------------------

  function blank(id) {
    return { id, seq: seqOf(id), node: nodeOf(id), name: "", state: "alive", links: new Map(), children: new Set(), supervisor: "",
      fault: null, is_supervisor: false, tracked: false, child: "", generation: 0, last_exit: null, restarts: 0,
      restartTimes: [], period: 5000, max_restarts: 0, exits: null, since: "", down_at: "",
      x: NaN, y: NaN, vx: 0, vy: 0 };
  }

  function dev(id) {
    let d = devices.get(id);
    if (!d) { d = blank(id); d.since = new Date(now()).toISOString(); devices.set(id, d); }
    return d;
  }

  function parsePeriod(p) {
    const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:([\d.]+)s)?$/.exec(p || "");
    if (!m) return 5000;
    return ((+m[1] || 0) * 3600 + (+m[2] || 0) * 60 + (+m[3] || 0)) * 1000 || 5000;
  }

  // fromInfo makes the page's device from a DeviceInfo of the JSON,
  // keeping what the page learnt of it before (prev).
  function fromInfo(info, prev, t) {
    const d = Object.assign(blank(info.id), {
      name: info.name || "", state: info.state, fault: info.fault || null, node: info.node || "",
      children: new Set(info.children || []), supervisor: info.supervisor || "",
      is_supervisor: !!info.is_supervisor, restarts: info.restarts || 0, restart_limit: !!info.restart_limit,
      abandoned: !!info.abandoned, tracked: !!info.tracked, since: info.since, down_at: info.down_at || "",
      child: info.child || "", generation: info.generation || 0, last_exit: info.last_exit || null,
      period: parsePeriod(info.period), max_restarts: info.max_restarts || 0,
      restartTimes: prev ? prev.restartTimes : new Array(info.recent_restarts || 0).fill(t),
      exits: prev ? prev.exits : null,
      x: prev ? prev.x : NaN, y: prev ? prev.y : NaN });
    for (const l of info.links) d.links.set(l.peer, MODE[l.mode] || 0);
    return d;
  }

  function loadSnapshot(s) {
    const old = new Map(devices);
    devices.clear();
    serverSkew = Date.parse(s.time) - Date.now();
    const t = Date.parse(s.time);
    for (const info of s.devices) devices.set(info.id, fromInfo(info, old.get(info.id), t));
    // Other nodes' devices come from api/cluster; keep them.
    for (const d of old.values()) if (d.remote) devices.set(d.id, d);
    seq = s.seq; stats = s.stats; canShutdown = s.shutdown; omitted = s.omitted; nodes = s.nodes || [];
    retention = parsePeriod(s.retention || "1m"); maxDown = s.max_down >= 0 ? s.max_down : 2000;
    downQ.length = 0;
    for (const d of devices.values()) if (d.state === "down" && !d.remote) downQ.push(d);
    downQ.sort((a, b) => Date.parse(a.down_at) - Date.parse(b.down_at));
    faults.length = 0;
    for (const e of s.faults) faults.push(e);
    $("events").textContent = "";
    for (const e of s.events) addEventLine(e);
    changed(true, true);
  }

  // The cluster view (observer.WithPeers): every other node's devices,
  // polled; a handler without it answers 404, and the page stops asking.
  let clusterOn = true, remoteIDs = new Set(), clusterNodes = [];
  async function loadCluster() {
    if (!clusterOn) return;
    try {
      const r = await fetch("api/cluster", { cache: "no-store" });
      if (r.status === 404) { clusterOn = false; return; }
      if (!r.ok) return;
      const v = await r.json(), t = now(), seen = new Set();
      for (const info of v.devices) {
        seen.add(info.id);
        const d = fromInfo(info, devices.get(info.id), t);
        d.remote = true;
        devices.set(d.id, d);
      }
      for (const id of remoteIDs) { const d = devices.get(id); if (!seen.has(id) && d && d.remote) devices.delete(id); }
      remoteIDs = seen; clusterNodes = v.nodes || []; nodesDirty = true;
      changed(true, true);
    } catch (err) { /* the status pill shows the connection */ }
  }

  // The page forgets the devices that went down as the recorder does
  // (retention, max_down), so that following the event stream is enough:
  // no reload of the whole model.
  let retention = 60000, maxDown = 2000;
  const downQ = []; // local devices that went down, oldest first
  function forget() {
    const t = now();
    let n = 0;
    while (n < downQ.length && (downQ.length - n > maxDown || t - Date.parse(downQ[n].down_at) >= retention)) {
      const d = downQ[n++];
      if (devices.get(d.id) !== d || d.state !== "down") continue;
      devices.delete(d.id);
      const p = devices.get(d.supervisor); if (p) p.children.delete(d.id);
      if (d.id === selected) sideDirty = true;
    }
    if (n) { downQ.splice(0, n); stats.down = Math.max(0, (stats.down || 0) - n); changed(true, true); }
  }

  function flip(m) { return ((m & 1) << 1) | ((m & 2) >> 1); }
  function now() { return Date.now() + serverSkew; }

  function apply(e) {
    if (e.seq <= seq) return; // already in the snapshot
    seq = e.seq;
    stats.events = e.seq;
    let structural = false;
    switch (e.kind) {
    case "created": {
      const d = dev(e.device); d.name = e.name || d.name; d.state = "alive"; d.since = e.time;
      stats.alive = (stats.alive || 0) + 1; stats.created = (stats.created || 0) + 1;
      structural = true;
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
      structural = true;
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
      if (!d.remote) downQ.push(d);
      structural = true;
      break;
    }
    case "child started": case "child restarted": {
      const s = e.supervisor ? dev(e.supervisor) : null;
      if (s) s.is_supervisor = true;
      if (e.device) {
        const c = dev(e.device);
        if (!c.name && e.name) c.name = e.name;
        c.child = e.name || c.child; c.generation = e.generation || c.generation;
        if (s && c !== s && c.supervisor !== s.id) {
          const o = devices.get(c.supervisor); if (o) o.children.delete(c.id);
          c.supervisor = s.id; s.children.add(c.id);
        }
      }
      if (e.kind === "child restarted") {
        if (s) {
          s.restarts = (s.restarts || 0) + 1;
          // The intensity counts a group restart once, as the supervisor does:
          // not the children it stopped with the one that ended.
          const ex = s.exits && s.exits.get(e.name);
          if (!ex || !ex.stopped) { s.restartTimes.push(Date.parse(e.time)); if (s.restartTimes.length > 64) s.restartTimes.shift(); }
        }
        stats.restarts = (stats.restarts || 0) + 1;
      } else stats.child_starts = (stats.child_starts || 0) + 1;
      structural = true;
      break;
    }
    case "child exited": {
      const s = devices.get(e.supervisor);
      if (s && e.name) { s.exits = s.exits || new Map(); s.exits.set(e.name, { device: e.device, time: e.time, fault: e.fault || null, stopped: !!e.stopped }); }
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
        e.kind === "child start failed") {
      faults.push(e);
      if (faults.length > MAX_FAULTS) faults.shift();
      timelineDirty = true;
    }
    return structural;
  }

  // lastExit is how the previous generation of d's child ended.
  function lastExit(d) {
    const p = devices.get(d.supervisor);
    const live = p && p.exits && d.child && p.exits.get(d.child);
    if (live && live.device !== d.id) return live;
    return d.last_exit;
  }

  function recentRestarts(s) {
    const t = now();
    let n = 0;
    for (const r of s.restartTimes) if (t - r < s.period) n++;
    return n;
  }

  // ---- live updates --------------------------------------------------------

  async function resync() {
    try {
      const r = await fetch("api/snapshot?limit=" + 100000 + "&events=" + MAX_EVENTS, { cache: "no-store" });
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
    source.addEventListener("events", (m) => {
      let structural = false;
      for (const e of JSON.parse(m.data)) structural = apply(e) || structural;
      changed(true, structural);
    });
    source.addEventListener("reset", () => { resync(); });
    source.addEventListener("error", () => setStatus("offline", "reconnecting"));
  }

  function poll() {
    setStatus("polling", "polling");
    clearTimeout(pollTimer);
    pollTimer = setTimeout(async () => { await resync(); poll(); }, POLL_MS);
  }

  function setStatus(cls, text) { const s = $("status"); s.className = "status " + cls; s.textContent = text; }

  // ---- helpers -------------------------------------------------------------

  let dirty = false, sideDirty = false, tableDirty = false, timelineDirty = false, graphDirty = false;
  function changed(side, structural) {
    dirty = true; tableDirty = true;
    if (side) sideDirty = true;
    if (structural) graphDirty = true; // rebuild heats the layout if what it draws changed
  }

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
    a.addEventListener("click", (ev) => { ev.preventDefault(); select(id); });
    return a;
  }
  function nodeBadge(n, text) { const b = el("span", { class: "node", text: text || n }); b.style.background = nodeColor(n); return b; }
  function fmtTime(t) { return t ? new Date(t).toLocaleTimeString() : ""; }
  function fmtAge(ms) {
    const s = Math.max(0, Math.round(ms / 1000));
    if (s < 60) return s + "s";
    if (s < 3600) return Math.floor(s / 60) + "m" + String(s % 60).padStart(2, "0") + "s";
    return Math.floor(s / 3600) + "h" + String(Math.floor(s / 60) % 60).padStart(2, "0") + "m";
  }
  function ageOf(d) { return d.since ? now() - Date.parse(d.since) : 0; }

  function stateClass(d) {
    if (d.abandoned) return "abandoned";
    if (d.state !== "down") return "alive";
    if (!d.fault) return "clean";
    return d.fault.kind === "cascade" ? "cascade" : "fault";
  }
  function linksIn(d) { let n = 0; for (const m of d.links.values()) if (m & 2) n++; return n; }
  function linksOut(d) { let n = 0; for (const m of d.links.values()) if (m & 1) n++; return n; }
  function restartsOf(d) { return d.is_supervisor ? (d.restarts || 0) : Math.max(0, (d.generation || 1) - 1); }

  // ---- filter --------------------------------------------------------------

  // parseFilter reads the search box: words match name, id or node; fields
  // (name: id: node: state: fault: in: out: age: restarts:) match one column.
  let filterText = null, filterFn = null;
  function filter() {
    const q = $("search").value.trim().toLowerCase();
    if (q === filterText) return filterFn;
    filterText = q;
    const tests = [];
    for (const tok of q.split(/\s+/).filter(Boolean)) {
      const m = /^(name|id|node|state|fault|in|out|age|restarts):(.*)$/.exec(tok);
      if (!m) {
        tests.push((d) => (tok[0] === "#" ? d.id === tok || idText(d.id) === tok :
          d.name.toLowerCase().includes(tok) || idText(d.id).slice(1) === tok || d.node.toLowerCase().includes(tok)));
        continue;
      }
      const [, field, v] = m;
      const num = /^(>=|<=|>|<|=)?(\d+(?:\.\d+)?)$/.exec(v);
      const cmp = (x) => {
        if (!num) return false;
        const n = +num[2];
        switch (num[1]) { case ">": return x > n; case "<": return x < n; case ">=": return x >= n; case "<=": return x <= n; default: return x === n; }
      };
      switch (field) {
      case "name": tests.push((d) => d.name.toLowerCase().includes(v)); break;
      case "id": tests.push((d) => d.id === v || idText(d.id) === v || idText(d.id) === "#" + v); break;
      case "node": tests.push((d) => (v === "local" ? !d.node : d.node.toLowerCase().includes(v))); break;
      case "state": tests.push((d) => d.state === v || stateClass(d) === v); break;
      case "fault": tests.push((d) => d.fault && d.fault.kind.includes(v)); break;
      case "in": tests.push((d) => cmp(linksIn(d))); break;
      case "out": tests.push((d) => cmp(linksOut(d))); break;
      case "age": tests.push((d) => cmp(ageOf(d) / 1000)); break;
      case "restarts": tests.push((d) => cmp(restartsOf(d))); break;
      }
    }
    filterFn = tests.length ? (d) => tests.every((t) => t(d)) : null;
    return filterFn;
  }
  let showDownOn = false;
  function showDown() { return showDownOn; }
  function wanted(d) {
    if (!showDown() && d.state === "down") return false;
    const f = filter();
    return !f || f(d);
  }

  // ---- header ----------------------------------------------------------------

  function renderStats() {
    const s = stats, dis = s.disconnects || {};
    let nf = 0;
    for (const k in dis) if (k !== "clean") nf += dis[k];
    const parts = [["alive", s.alive], ["links", s.links], ["faults", nf], ["restarts", s.restarts],
      ["abandoned", s.abandoned], ["down (kept)", s.down]];
    const box = $("stats"); box.textContent = "";
    for (const [k, v] of parts) box.append(el("span", null, el("b", { text: String(v || 0) }), " " + k));
    if (clusterNodes.length) {
      // The cluster view: each run of each node, up or not heard from.
      const n = el("span", { class: "nodes" });
      const up = clusterNodes.filter((x) => x.up).length;
      n.append(el("b", { text: String(up) }), " other node" + (up === 1 ? "" : "s") + " up");
      for (const x of clusterNodes) {
        const b = nodeBadge(x.name, x.name + (x.up ? "" : " (a run down)"));
        b.title = x.name + ", incarnation " + x.incarnation + ": " + (x.up ? "up" : "not heard from since " + fmtTime(x.last_seen)) + "; " + x.alive + " devices alive";
        if (!x.up) b.style.background = "#6e7681";
        n.append(b);
      }
      box.append(n);
    } else if (nodes.length) {
      const n = el("span", { title: nodes.map((x) => x.name + "/" + x.incarnation + ": " + x.alive + " alive, " + x.down + " down").join("\n") });
      n.append(el("b", { text: String(nodes.length) }), " nodes");
      for (const x of nodes) n.append(nodeBadge(x.name + (x.alive ? "" : " (down)")));
      box.append(n);
    }
  }

  // ---- nodes ---------------------------------------------------------------------

  // renderNodes lists this process and every run of every other node: from
  // api/cluster (up or not heard from, with their devices), else the nodes
  // this process holds proxies of. A click filters the table by the node.
  let nodesDirty = true, lastNodes = 0;
  function renderNodes() {
    const tb = $("nodes").tBodies[0]; tb.textContent = "";
    let alive = 0, down = 0;
    for (const d of devices.values()) if (!d.node) { if (d.state === "alive") alive++; else down++; }
    const rows = [{ name: "this process", incarnation: "", state: "serving this page", alive, down, seen: "now", up: true, filter: "node:local" }];
    if (clusterNodes.length) {
      for (const x of clusterNodes) rows.push({ name: x.name, incarnation: x.incarnation, state: x.up ? "up" : "down (not heard from)",
        alive: x.alive, down: x.down, seen: fmtTime(x.last_seen), up: x.up, filter: "node:" + x.name });
    } else {
      for (const x of nodes) rows.push({ name: x.name, incarnation: x.incarnation, state: x.alive ? "linked to" : "its devices here are down",
        alive: x.alive, down: x.down, seen: "", up: x.alive > 0, filter: "node:" + x.name });
    }
    for (const r of rows) {
      const tr = el("tr", { class: r.up ? "" : "down" });
      const name = el("td"); name.append(r.incarnation ? nodeBadge(r.name) : r.name);
      tr.append(name, el("td", { text: r.incarnation }), el("td", { text: r.state }), el("td", { text: String(r.alive) }),
        el("td", { text: String(r.down) }), el("td", { text: r.seen }));
      tr.addEventListener("click", () => { $("search").value = r.filter; changed(true, true); setView("table"); });
      tb.append(tr);
    }
    $("nodesNote").textContent = clusterNodes.length ? "the whole cluster, as each node publishes it (observer/clusterview); click a node to list its devices" :
      nodes.length ? "other nodes seen through this process's proxies of their devices; serve the page with observer.WithPeers to see their whole trees" :
      "a single process: serve the page with observer.WithPeers (observer/clusterview) to see every node of a cluster";
  }

  // ---- timeline (history) ----------------------------------------------------

  function faultKey(e) {
    if (!e.fault || e.kind !== "disconnected") return "";
    return e.fault.kind === "cascade" ? "root:" + e.fault.root_device : "root:" + e.device;
  }

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

  // renderTimeline lists the faults of the window, newest first; a
  // cascade's devices are counted under its root's item.
  function renderTimeline() {
    const ol = $("faults"); ol.textContent = "";
    const win = +$("timeWindow").value * 1000, t = now();
    let group = null, shown = 0;
    for (let i = faults.length - 1; i >= 0; i--) {
      const e = faults[i];
      if (win && t - Date.parse(e.time) > win) break;
      const key = faultKey(e);
      if (key && group && group.key === key) {
        group.names.push(label(e.device, e.name));
        continue;
      }
      if (group) finish(group);
      const li = el("li", null, el("time", { text: fmtTime(e.time) + " " }),
        e.device ? devLink(e.device, e.name) : null, " ", el("span", { class: "badge sup", text: e.kind }));
      if (nodeOf(e.device)) li.append(nodeBadge(nodeOf(e.device)));
      if (e.supervisor) li.append(" by ", devLink(e.supervisor));
      if (e.error) li.append(el("div", { text: e.error }));
      if (e.fault) li.append(faultBlock(e.fault));
      const more = el("div", { class: "muted" });
      li.append(more);
      ol.append(li);
      shown++;
      group = key ? { key, names: [], more } : null;
    }
    if (group) finish(group);
    function finish(g) {
      if (!g.names.length) return;
      g.more.textContent = g.names.length + " device" + (g.names.length > 1 ? "s" : "") +
        " went down with it: " + g.names.slice(0, 8).join(", ") + (g.names.length > 8 ? ", \u2026" : "");
    }
    let down = 0;
    for (const d of devices.values()) if (d.state === "down" && (!win || t - Date.parse(d.down_at) <= win)) down++;
    $("timelineNote").textContent = shown + " faults; " + down + " dead generations kept in this window (check \u201cshow down\u201d to see them in the other views)";
    if (!shown) ol.append(el("li", { class: "muted", text: "No faults in this window." }));
  }

  function addEventLine(e) {
    const ol = $("events");
    ol.prepend(el("li", null, el("time", { text: fmtTime(e.time) + " " }), e.text));
    while (ol.childElementCount > MAX_EVENTS) ol.lastElementChild.remove();
  }

  // ---- supervision tree of now ----------------------------------------------

  // slots groups a supervisor's children by their child ID: the current
  // generation (alive, newest) and the history (dead generations).
  function slots(s) {
    const by = new Map();
    for (const c of s.children) {
      const d = devices.get(c); if (!d) continue;
      const k = d.child || d.name || d.id;
      let sl = by.get(k);
      if (!sl) by.set(k, sl = { key: k, cur: null, dead: 0, abandoned: 0 });
      if (d.state === "alive" && (!sl.cur || sl.cur.state !== "alive" || (d.generation || 0) > (sl.cur.generation || 0) || byDev(d, sl.cur) > 0)) sl.cur = d;
      else if (!sl.cur) sl.cur = d;
      else if (sl.cur.state !== "alive" && byDev(d, sl.cur) > 0) sl.cur = d;
      if (d.state === "down") sl.dead++;
      if (d.abandoned) sl.abandoned++;
    }
    const out = [...by.values()];
    // Newest first.
    out.sort((a, b) => byDev(b.cur, a.cur));
    return out;
  }

  const treeOpen = new Set(); // supervisors the user opened or closed (toggled from the default)
  function renderTree() {
    const box = $("tree"); box.textContent = "";
    const roots = [];
    for (const d of devices.values()) {
      if (!d.is_supervisor) continue;
      const p = devices.get(d.supervisor);
      if (!p || !p.is_supervisor) roots.push(d);
    }
    // At most MAX_TREE rows: the filter narrows the tree to the devices it
    // matches and the supervisors above them.
    let budget = MAX_TREE;
    const f = filter();
    let keep = null;
    if (f) {
      keep = new Set();
      for (const d of devices.values()) {
        if (!f(d) || (d.state !== "alive" && !showDown())) continue;
        for (let x = d, n = 0; x && !keep.has(x.id) && n < 64; x = devices.get(x.supervisor), n++) keep.add(x.id);
      }
    }
    const rootSlots = new Map();
    for (const r of roots) {
      const k = r.node + "|" + (r.name || r.id);
      const o = rootSlots.get(k);
      if (!o || (r.state === "alive" && (o.state !== "alive" || byID(r.id, o.id) > 0)) || (o.state !== "alive" && byID(r.id, o.id) > 0)) rootSlots.set(k, r);
    }
    const list = [...rootSlots.values()].filter((r) => (r.state === "alive" || showDown()) && (!keep || keep.has(r.id))).sort(byDev).reverse();
    if (!list.length) { box.append(el("p", { class: "muted", text: "No supervisor events yet." })); return; }
    function row(d, sl, depth) {
      const line = el("span", null, el("span", { class: "dot " + stateClass(d) }), devLink(d.id, d.child || d.name));
      if (d.node) line.append(nodeBadge(d.node));
      const meta = [];
      if (d.state === "alive") meta.push("up " + fmtAge(ageOf(d)));
      else meta.push("down " + fmtAge(now() - Date.parse(d.down_at)));
      const r = restartsOf(d);
      if (!d.is_supervisor && r) meta.push("\u21bb " + r);
      const le = lastExit(d);
      if (le && d.state === "alive") meta.push("last exit: " + (le.fault ? le.fault.kind : le.stopped ? "stopped" : "clean") + " " + fmtAge(now() - Date.parse(le.time)) + " ago");
      line.append(el("span", { class: "meta", text: meta.join(" \u00b7 ") }));
      if (d.is_supervisor) {
        const used = recentRestarts(d), max = d.max_restarts;
        const b = el("span", { class: "badge intensity" + (max && used >= max ? " high" : ""),
          text: "intensity " + used + (max ? "/" + max : "") + " in " + Math.round(d.period / 1000) + "s",
          title: "restarts within the supervisor's period" + (max ? " against its maximum" : " (maximum not known until a restart limit is reported)") + "; " + (d.restarts || 0) + " restarts in all" });
        line.append(" ", b);
      }
      if (d.restart_limit) line.append(" ", el("span", { class: "badge panic", text: "restart limit" }));
      if (sl && sl.dead) line.append(" ", el("span", { class: "badge down hist", text: sl.dead + " dead generation" + (sl.dead > 1 ? "s" : ""), title: "history: see the timeline, or check \u201cshow down\u201d" }));
      if (sl && sl.abandoned) line.append(" ", el("span", { class: "badge abandoned", text: sl.abandoned + " abandoned" }));
      if (d.state !== "alive") line.classList.add("dim");
      if (!d.is_supervisor || !d.children.size) return el("li", null, line);
      const byDefault = depth < 1 || devices.size < 3000;
      const open = byDefault !== treeOpen.has(d.id);
      const det = el("details", null, el("summary", null, line));
      det.open = open;
      det.addEventListener("toggle", () => {
        if (det.open === (byDefault !== treeOpen.has(d.id))) return;
        if (treeOpen.has(d.id)) treeOpen.delete(d.id); else treeOpen.add(d.id);
        if (det.open && !det.querySelector("ul")) { budget = MAX_TREE; fill(det, d, depth); }
      });
      if (open) fill(det, d, depth);
      return el("li", null, det);
    }
    function fill(det, d, depth) {
      const ul = el("ul");
      let hidden = 0;
      const all = slots(d);
      for (let i = 0; i < all.length; i++) {
        const sl = all[i], c = sl.cur;
        if (c.state !== "alive" && !showDown()) { hidden++; continue; }
        if (keep && !keep.has(c.id)) continue;
        if (--budget < 0) { ul.append(el("li", { class: "muted more", text: "\u2026 " + (all.length - i) + " more (narrow with the filter)" })); break; }
        ul.append(row(c, sl, depth + 1));
      }
      if (hidden) ul.append(el("li", { class: "muted", text: hidden + " child" + (hidden > 1 ? "ren" : "") + " down now (check \u201cshow down\u201d)" }));
      det.append(ul);
    }
    const ul = el("ul");
    for (const r of list) ul.append(row(r, null, 0));
    box.append(ul);
  }

  // ---- device panel ------------------------------------------------------------

  function renderDevice() {
    const box = $("device"); box.textContent = "";
    const d = devices.get(selected);
    if (!d) { box.append(el("p", { class: "muted", text: selected ? "Device " + idText(selected) + " is gone." : "Click a device." })); return; }
    const dl = el("dl");
    const row = (k, v) => { dl.append(el("dt", { text: k }), el("dd", null, v)); };
    row("id", d.id); row("name", d.name || "\u2014");
    if (d.node) row("node", nodeBadge(d.node));
    row("state", el("span", { class: "st-" + (d.state === "alive" ? "alive" : "down"), text: d.state }));
    if (d.since) row("up since", fmtTime(d.since) + " (" + fmtAge(ageOf(d)) + ")");
    if (d.down_at) row("down at", fmtTime(d.down_at));
    if (d.supervisor) row("supervisor", devLink(d.supervisor));
    if (d.child) row("child", d.child + ", generation " + (d.generation || 1));
    const le = lastExit(d);
    if (le) row("last exit", (le.fault ? le.fault.kind + ": " + le.fault.error : le.stopped ? "stopped" : "clean") + " at " + fmtTime(le.time));
    if (d.is_supervisor) row("restarts", (d.restarts || 0) + " (" + recentRestarts(d) + (d.max_restarts ? "/" + d.max_restarts : "") + " in " + Math.round(d.period / 1000) + "s)");
    if (d.abandoned) row("abandoned", "yes");
    if (d.restart_limit) row("restart limit", "reached");
    box.append(dl);
    const act = el("div");
    const centre = el("button", { text: "centre in graph" });
    centre.addEventListener("click", () => centreOn(d.id));
    const focus = el("button", { text: "show neighbourhood" });
    focus.addEventListener("click", () => { $("focus").checked = true; setView("graph"); graphDirty = true; heat(0.5); dirty = true; });
    act.append(centre, " ", focus);
    box.append(act);
    if (d.fault) { box.append(el("h4", { text: "fault" }), faultBlock(d.fault)); }
    const links = el("ul");
    for (const [p, m] of [...d.links].sort((a, b) => byID(a[0], b[0])).slice(0, 500)) links.append(el("li", null, MODE_NAME[m] + " ", devLink(p)));
    box.append(el("h4", { text: "links (" + d.links.size + ")" }), links);
    if (d.children.size) {
      const ch = el("ul");
      for (const c of [...d.children].sort((a, b) => byID(b, a)).slice(0, 500)) {
        const cd = devices.get(c);
        if (cd && cd.state === "down" && !showDown()) continue;
        ch.append(el("li", null, devLink(c), cd && cd.state === "down" ? " (down)" : ""));
      }
      box.append(el("h4", { text: "children (" + d.children.size + ")" }), ch);
    }
    if (canShutdown && d.state === "alive") {
      const b = el("button", { class: "danger", text: "request shutdown" });
      if (!d.tracked) { b.disabled = true; b.title = "the recorder holds no line to this device (Recorder.Track)"; }
      const out = el("div", { class: "muted" });
      b.addEventListener("click", async () => {
        if (!confirm("Ask device " + d.id + " " + d.name + " to shut down?")) return;
        const r = await fetch("api/shutdown?device=" + encodeURIComponent(d.id), { method: "POST" });
        const j = await r.json().catch(() => ({}));
        out.textContent = r.ok ? "shutdown requested" : (j.error || "HTTP " + r.status);
      });
      box.append(b, out);
    }
  }

  // select shows a device in the Device tab; it never moves the graph
  // (the "centre" button does).
  function select(id) {
    selected = id;
    showTab("device");
    renderDevice();
    tableDirty = true; dirty = true;
    if ($("focus").checked) { graphDirty = true; heat(0.4); }
  }

  function showTab(name) {
    for (const b of document.querySelectorAll(".tabs button")) b.classList.toggle("active", b.dataset.tab === name);
    for (const t of document.querySelectorAll(".tab")) t.hidden = t.id !== "tab-" + name;
    sideDirty = true;
  }

  // ---- table (virtualised) -----------------------------------------------------

  const COLS = [
    { key: "id", title: "id", w: 100, get: (d) => d.id, cmp: byDev, text: (d) => idText(d.id) },
    { key: "name", title: "name", w: 130, get: (d) => d.name },
    { key: "node", title: "node", w: 75, get: (d) => d.node || "" },
    { key: "state", title: "state", w: 60, get: (d) => d.state },
    { key: "fault", title: "fault", w: 80, get: (d) => (d.fault ? d.fault.kind : "") },
    { key: "in", title: "links in", w: 62, get: linksIn, num: true },
    { key: "out", title: "links out", w: 68, get: linksOut, num: true },
    { key: "age", title: "age", w: 62, get: ageOf, num: true, text: (d) => fmtAge(ageOf(d)) },
    { key: "restarts", title: "restarts", w: 64, get: restartsOf, num: true },
    { key: "supervisor", title: "supervisor", w: 120, get: (d) => d.supervisor, cmp: (a, b) => byID(a.supervisor, b.supervisor), text: (d) => (d.supervisor ? label(d.supervisor, nameOf(d.supervisor)) : "") },
  ];
  let sortKey = "id", sortAsc = false, rows = [];

  function setupTable() {
    const head = $("tableHead"), body = $("table");
    for (const t of [head, body]) {
      const cg = t.querySelector("colgroup");
      for (const c of COLS) { const col = el("col"); col.style.width = c.w + "px"; cg.append(col); }
      t.style.width = COLS.reduce((s, c) => s + c.w, 0) + "px";
    }
    const tr = head.tHead.rows[0];
    for (const c of COLS) {
      const th = el("th", { text: c.title, "data-key": c.key, title: "sort by " + c.title });
      th.addEventListener("click", () => {
        if (sortKey === c.key) sortAsc = !sortAsc; else { sortKey = c.key; sortAsc = !c.num && c.key !== "id"; }
        tableDirty = true;
      });
      tr.append(th);
    }
    $("tableScroll").addEventListener("scroll", () => { $("tableHead").parentElement.scrollLeft = $("tableScroll").scrollLeft; drawRows(); }, { passive: true });
    $("table").tBodies[0].addEventListener("click", (ev) => {
      const tr = ev.target.closest("tr"); if (tr && tr.dataset.id) select(tr.dataset.id);
    });
  }

  function renderTable() {
    rows = [];
    for (const d of devices.values()) if (wanted(d)) rows.push(d);
    const c = COLS.find((x) => x.key === sortKey) || COLS[0];
    const get = c.get;
    const cmp = c.cmp || (c.num ? (a, b) => get(a) - get(b) : (a, b) => { const x = get(a), y = get(b); return x < y ? -1 : x > y ? 1 : 0; });
    rows.sort((a, b) => (sortAsc ? cmp(a, b) : cmp(b, a)) || byDev(b, a));
    for (const th of $("tableHead").tHead.rows[0].cells) {
      th.classList.toggle("sorted", th.dataset.key === sortKey); th.classList.toggle("asc", sortAsc);
    }
    $("tableSpacer").style.height = rows.length * ROW + "px";
    $("tableNote").textContent = rows.length + " of " + devices.size + " devices" + (omitted ? " (" + omitted + " more not loaded)" : "") +
      " \u00b7 click a column to sort \u00b7 filter with the box above, e.g. node:db state:alive restarts:>0";
    drawRows();
  }

  // drawRows renders only the rows in view, and a few more.
  function drawRows() {
    const sc = $("tableScroll"), tb = $("table").tBodies[0];
    const first = Math.max(0, Math.floor(sc.scrollTop / ROW) - 5);
    const last = Math.min(rows.length, Math.ceil((sc.scrollTop + sc.clientHeight) / ROW) + 5);
    $("table").style.top = first * ROW + "px";
    const want = last - first;
    perFrame.max_rows = Math.max(perFrame.max_rows, want);
    while (tb.rows.length > want) tb.lastElementChild.remove();
    while (tb.rows.length < want) { const tr = el("tr"); for (let i = 0; i < COLS.length; i++) tr.append(el("td")); tb.append(tr); }
    for (let i = 0; i < want; i++) {
      const d = rows[first + i], tr = tb.rows[i];
      tr.dataset.id = d.id;
      tr.className = d.id === selected ? "selected" : "";
      for (let j = 0; j < COLS.length; j++) {
        const c = COLS[j], td = tr.cells[j];
        const v = c.text ? c.text(d) : String(c.get(d));
        if (td.textContent !== v) td.textContent = v;
      }
      const st = tr.cells[3], cls = "st-" + ({ alive: "alive", clean: "down", abandoned: "fault" }[stateClass(d)] || stateClass(d));
      if (st.className !== cls) st.className = cls;
    }
  }

  // ---- charts --------------------------------------------------------------------

  const FAULT_COLORS = { panic: "#f85149", error: "#ff7b72", cascade: "#d29922", killed: "#bc8cff", unreachable: "#79c0ff", drop: "#8b949e" };
  let series = null, seriesAt = 0;
  async function loadSeries() {
    seriesAt = Date.now();
    try {
      const r = await fetch("api/series?window=" + $("chartWindow").value, { cache: "no-store" });
      if (!r.ok) return;
      series = await r.json();
      renderCharts();
    } catch (err) { /* the status pill shows the connection */ }
  }

  function renderCharts() {
    const box = $("charts");
    if (!series) return;
    const pts = series.points;
    const kinds = new Set();
    for (const p of pts) for (const k in p.faults || {}) kinds.add(k);
    const defs = [
      { title: "devices alive", lines: [{ name: "alive", color: "#3fb950", get: (p) => p.alive }] },
      { title: "links", lines: [{ name: "links", color: "#8b949e", get: (p) => p.links }] },
      { title: "faults per second, by kind", lines: [...kinds].sort().map((k) => ({ name: k, color: FAULT_COLORS[k] || "#e3b341", get: (p) => (p.faults && p.faults[k]) || 0 })) },
      { title: "restarts per second", lines: [{ name: "restarts", color: "#58a6ff", get: (p) => p.restarts || 0 }] },
    ];
    if (box.childElementCount !== defs.length) {
      box.textContent = "";
      for (const d of defs) box.append(el("div", { class: "chart" }, el("h3", { text: d.title }), el("canvas"), el("div", { class: "keys" })));
    }
    defs.forEach((def, i) => drawChart(box.children[i], def, pts));
  }

  function drawChart(div, def, pts) {
    const cv = div.querySelector("canvas"), c = cv.getContext("2d");
    const w = cv.clientWidth, h = cv.clientHeight, dpr = window.devicePixelRatio || 1;
    if (cv.width !== Math.round(w * dpr)) { cv.width = Math.round(w * dpr); cv.height = Math.round(h * dpr); }
    c.setTransform(dpr, 0, 0, dpr, 0, 0);
    c.clearRect(0, 0, w, h);
    const left = 44, bottom = 16, pw = w - left - 6, ph = h - bottom - 6;
    let max = 1;
    for (const l of def.lines) for (const p of pts) max = Math.max(max, l.get(p));
    c.strokeStyle = "#30363d"; c.fillStyle = "#8b949e"; c.font = "11px system-ui, sans-serif"; c.lineWidth = 1;
    c.beginPath(); c.moveTo(left, 6); c.lineTo(left, 6 + ph); c.lineTo(left + pw, 6 + ph); c.stroke();
    c.textAlign = "right"; c.fillText(String(max), left - 4, 14); c.fillText("0", left - 4, 6 + ph);
    if (pts.length) {
      c.textAlign = "left"; c.fillText(fmtTime(pts[0].t * 1000), left, h - 3);
      c.textAlign = "right"; c.fillText(fmtTime(pts[pts.length - 1].t * 1000), left + pw, h - 3);
    }
    const n = Math.max(1, pts.length - 1);
    for (const l of def.lines) {
      c.strokeStyle = l.color; c.lineWidth = 1.5; c.beginPath();
      pts.forEach((p, i) => { const x = left + pw * i / n, y = 6 + ph - ph * l.get(p) / max; if (i) c.lineTo(x, y); else c.moveTo(x, y); });
      c.stroke();
    }
    const keys = div.querySelector(".keys"); keys.textContent = "";
    for (const l of def.lines) {
      const last = pts.length ? l.get(pts[pts.length - 1]) : 0;
      let sum = 0; for (const p of pts) sum += l.get(p);
      const s = el("span", { text: "\u25a0 " + l.name + ": " + last + (def.title.includes("per second") ? " now, " + sum + " in the window" : "") });
      s.style.color = l.color; keys.append(s);
    }
    if (!def.lines.length) keys.append(el("span", { class: "muted", text: "none in the window" }));
  }

  // ---- graph ---------------------------------------------------------------------

  const canvas = $("graph"), ctx = canvas.getContext("2d");
  const view = { x: 0, y: 0, k: 1 }; // screen = centre + view + world*k
  let alpha = 1, shown = [], edges = [], treeEdges = [], autoFit = true, groupsBy = null, note = "", shownSig = "";
  const MOVE_MS = 150, MANY_EDGES = 500; // see draw
  let lastMove = -1e9, edgesSkipped = false;
  const groups = new Map(); // group key -> group node (kept for positions)

  function heat(a) { alpha = Math.max(alpha, a); }

  function groupMode() {
    const g = $("group").value;
    if (g !== "auto") return g;
    let n = 0;
    for (const d of devices.values()) if (d.state === "alive" || showDown()) n++;
    return n > AUTO_GROUP ? "supervisor" : "none";
  }

  // rebuild chooses what the graph draws: devices, or groups of them, and
  // the edges between what it draws.
  function rebuild() {
    const f = filter(), mode = groupMode(), focus = $("focus").checked && devices.has(selected);
    let list = [];
    if (focus) {
      const s = devices.get(selected), keep = new Set([s.id, s.supervisor, ...s.links.keys(), ...s.children]);
      for (const id of keep) { const d = devices.get(id); if (d && (d.state === "alive" || showDown() || d.id === s.id)) list.push(d); }
    } else {
      for (const d of devices.values()) if (wanted(d)) list.push(d);
    }
    const repOf = new Map(); // device id -> drawn item
    note = "";
    if (!focus && mode !== "none") {
      const seen = new Set();
      for (const d of list) {
        let key, title;
        if (mode === "node") { key = "node:" + (d.node || "local"); title = d.node || "this process"; }
        else if (d.is_supervisor) { key = "sup:" + d.id; title = d.name || idText(d.id); }
        else if (d.supervisor && devices.has(d.supervisor)) { key = "sup:" + d.supervisor; title = nameOf(d.supervisor) || idText(d.supervisor); }
        else { repOf.set(d.id, d); seen.add(d); continue; }
        let g = groups.get(key);
        if (!g) { g = { id: key, group: true, name: title, members: 0, alive: 0, faulted: 0, sup: null, node: d.node, x: NaN, y: NaN, vx: 0, vy: 0, links: new Map() }; groups.set(key, g); }
        if (!seen.has(g)) { g.members = 0; g.alive = 0; g.faulted = 0; g.links = new Map(); g.sup = null; seen.add(g); }
        g.members++; if (d.state === "alive") g.alive++; else if (d.fault) g.faulted++;
        if (mode === "supervisor" && d.is_supervisor) g.sup = d;
        if (!isFinite(g.x) && isFinite(d.x)) { g.x = d.x; g.y = d.y; }
        repOf.set(d.id, g);
      }
      shown = [...seen];
      note = "grouped by " + mode + ": " + shown.length + " groups of " + list.length + " devices; zoom in, filter, or choose group \u201cnone\u201d to see devices";
      if (shown.length > MAX_DRAW) {
        // Even the groups are too many: the largest only.
        shown.sort((a, b) => (b.members || 1) - (a.members || 1));
        const kept = new Set(shown.slice(0, MAX_DRAW));
        for (const [id, g] of repOf) if (!kept.has(g)) repOf.delete(id);
        shown.length = MAX_DRAW;
        note += "; drawing the " + MAX_DRAW + " largest groups";
      }
    } else {
      if (list.length > MAX_DRAW) {
        list.sort((a, b) => (a.state === "down") - (b.state === "down") || byID(b.id, a.id));
        note = "drawing " + MAX_DRAW + " of " + list.length + " devices (alive and newest first); filter or group to see the rest";
        list.length = MAX_DRAW;
      }
      for (const d of list) repOf.set(d.id, d);
      shown = list;
    }
    if (omitted) note += (note ? "; " : "") + omitted + " devices not loaded";
    // Edges between drawn items, once each.
    const em = new Map(), tm = new Map();
    for (const d of list) {
      const a = repOf.get(d.id); if (!a) continue;
      for (const p of d.links.keys()) {
        const b = repOf.get(p); if (!b || b === a) continue;
        const k = a.id < b.id ? a.id + "\n" + b.id : b.id + "\n" + a.id;
        em.set(k, [a, b]);
      }
      if (d.supervisor) {
        const b = repOf.get(d.supervisor);
        if (b && b !== a) tm.set(a.id + "\n" + b.id, [b, a]);
      }
    }
    // A child is linked to its supervisor: the supervision edge says so,
    // and the link is not drawn again over it.
    for (const [a, b] of tm.values()) em.delete(a.id < b.id ? a.id + "\n" + b.id : b.id + "\n" + a.id);
    edges = [...em.values()]; treeEdges = [...tm.values()];
    graphDirty = false;
    perFrame.rebuilds++;
    // New items start near what they are tied to. The layout is heated
    // only when what is drawn changed: a restarted worker in its
    // supervisor's group, or in the place of the generation before it,
    // leaves the picture still.
    for (const d of shown) if (!isFinite(d.x)) place(d);
    const sig = shown.length + ":" + edges.length + ":" + treeEdges.length;
    if (sig !== shownSig) { shownSig = sig; heat(0.3); }
    dirty = true;
  }

  function radius(d) {
    if (d.group) return 5 + Math.sqrt(d.members) * 1.6;
    return d.is_supervisor ? 6 : 4;
  }

  // place gives a new item its first position: that of the generation
  // before it, if it is a restarted child; else near its supervisor or a
  // peer; else on a sunflower spiral around the centre, which spreads a
  // large first picture evenly before the layout has run.
  let spiral = 0;
  function place(d) {
    let ref = null;
    if (!d.group) {
      const sup = devices.get(d.supervisor);
      if (sup && d.child) for (const c of sup.children) {
        const o = devices.get(c);
        if (o && o !== d && o.child === d.child && isFinite(o.x)) { d.x = o.x; d.y = o.y; return; }
      }
      ref = sup;
      if (!ref || !isFinite(ref.x)) for (const p of d.links.keys()) { const pd = devices.get(p); if (pd && isFinite(pd.x)) { ref = pd; break; } }
    }
    if (ref && isFinite(ref.x)) {
      const a = Math.random() * 2 * Math.PI, s = 10 + Math.random() * 20;
      d.x = ref.x + Math.cos(a) * s; d.y = ref.y + Math.sin(a) * s;
      return;
    }
    const i = spiral++, r = 2 * radius(d) + 6;
    d.x = r * Math.sqrt(i) * Math.cos(i * 2.39996); d.y = r * Math.sqrt(i) * Math.sin(i * 2.39996);
  }

  function step() {
    const items = shown, n = items.length, cell = 60, rep = 700 * alpha;
    const grid = new Map();
    for (const d of items) {
      if (!isFinite(d.x)) place(d);
      const key = Math.floor(d.x / cell) * 65536 + Math.floor(d.y / cell);
      let b = grid.get(key); if (!b) grid.set(key, b = []); b.push(d);
    }
    for (const d of items) {
      const gx = Math.floor(d.x / cell), gy = Math.floor(d.y / cell), rd = radius(d);
      for (let i = -1; i <= 1; i++) for (let j = -1; j <= 1; j++) {
        const b = grid.get((gx + i) * 65536 + gy + j); if (!b) continue;
        for (const o of b) {
          if (o === d) continue;
          let dx = d.x - o.x, dy = d.y - o.y, q = dx * dx + dy * dy;
          if (q > cell * cell) continue;
          if (q < 0.01) { dx = Math.random() - 0.5; dy = Math.random() - 0.5; q = 0.5; }
          const f = rep * (1 + (rd + radius(o)) / 10) / q; d.vx += dx * f; d.vy += dy * f;
        }
      }
    }
    const spring = (a, b, len, s) => {
      const dx = b.x - a.x, dy = b.y - a.y, dist = Math.sqrt(dx * dx + dy * dy) || 1;
      const f = (dist - len) / dist * s * alpha;
      a.vx += dx * f; a.vy += dy * f; b.vx -= dx * f; b.vy -= dy * f;
    };
    for (const [a, b] of edges) if (isFinite(a.x) && isFinite(b.x)) spring(a, b, 40 + radius(a) + radius(b), 0.04);
    for (const [a, b] of treeEdges) if (isFinite(a.x) && isFinite(b.x)) spring(a, b, 45 + radius(a) + radius(b), 0.08);
    for (const d of items) { d.vx -= d.x * 0.002 * alpha; d.vy -= d.y * 0.002 * alpha; }
    for (const d of items) {
      d.vx *= 0.6; d.vy *= 0.6;
      const v = Math.hypot(d.vx, d.vy); if (v > 20) { d.vx *= 20 / v; d.vy *= 20 / v; }
      d.x += d.vx; d.y += d.vy;
    }
    alpha *= n > 1500 ? 0.96 : 0.985;
  }

  // fit moves the view towards one that shows every drawn item, with room
  // for labels at the edges.
  function fit() {
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    for (const d of shown) {
      if (!isFinite(d.x)) continue;
      x0 = Math.min(x0, d.x); x1 = Math.max(x1, d.x); y0 = Math.min(y0, d.y); y1 = Math.max(y1, d.y);
    }
    if (!isFinite(x0)) return;
    const w = canvas.clientWidth, h = canvas.clientHeight, padX = 90, padY = 50;
    const k = Math.min(4, Math.max(0.02, Math.min((w - 2 * padX) / (x1 - x0 + 1), (h - 2 * padY - 40) / (y1 - y0 + 1))));
    const tx = -(x0 + x1) / 2 * k, ty = -(y0 + y1) / 2 * k + 10;
    view.k += (k - view.k) * 0.2; view.x += (tx - view.x) * 0.2; view.y += (ty - view.y) * 0.2;
  }

  function centreOn(id) {
    const d = devices.get(id);
    let item = d;
    if (d && !shown.includes(d)) item = shown.find((g) => g.group && (g.id === "sup:" + d.supervisor || g.id === "sup:" + d.id || g.id === "node:" + (d.node || "local")));
    setView("graph");
    if (!item || !isFinite(item.x)) return;
    autoFit = false;
    view.k = Math.max(view.k, 1.5);
    view.x = -item.x * view.k; view.y = -item.y * view.k;
    dirty = true;
  }

  const COLORS = {};
  function color(name) { return COLORS[name] || (COLORS[name] = getComputedStyle(document.documentElement).getPropertyValue("--" + name).trim()); }

  function draw() {
    const w = canvas.clientWidth, h = canvas.clientHeight, dpr = window.devicePixelRatio || 1;
    if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) { canvas.width = Math.round(w * dpr); canvas.height = Math.round(h * dpr); }
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    const ox = w / 2 + view.x, oy = h / 2 + view.y, k = view.k;
    const sx = (d) => ox + d.x * k, sy = (d) => oy + d.y * k;
    const on = (x, y, m) => x > -m && y > -m && x < w + m && y < h + m;
    let nEdges = 0, nDrawn = 0;
    // Level of detail: while the user pans or zooms a graph of more than
    // MANY_EDGES edges, they wait for the movement to stop (frame draws
    // them then).
    edgesSkipped = performance.now() - lastMove < MOVE_MS && edges.length + treeEdges.length > MANY_EDGES;
    if (edgesSkipped) { drawNodes(w, h, ox, oy, k, sx, sy, on, 0, 0); return; }
    ctx.lineWidth = 1;
    ctx.strokeStyle = "rgba(139,148,158,0.4)";
    ctx.beginPath();
    for (const [a, b] of edges) {
      const ax = sx(a), ay = sy(a), bx = sx(b), by = sy(b);
      if (!on(ax, ay, 0) && !on(bx, by, 0)) continue;
      ctx.moveTo(ax, ay); ctx.lineTo(bx, by); nEdges++;
    }
    ctx.stroke();
    ctx.strokeStyle = "rgba(88,166,255,0.45)";
    // Dashes cost much more to draw than plain lines: only for a few.
    if (treeEdges.length < 400) ctx.setLineDash([4, 3]);
    else ctx.strokeStyle = "rgba(88,166,255,0.25)";
    ctx.beginPath();
    for (const [a, b] of treeEdges) {
      const ax = sx(a), ay = sy(a), bx = sx(b), by = sy(b);
      if (!on(ax, ay, 0) && !on(bx, by, 0)) continue;
      ctx.moveTo(ax, ay); ctx.lineTo(bx, by); nEdges++;
    }
    ctx.stroke();
    ctx.setLineDash([]);
    drawNodes(w, h, ox, oy, k, sx, sy, on, nEdges, nDrawn);
  }

  // drawNodes draws the items on screen and their labels.
  function drawNodes(w, h, ox, oy, k, sx, sy, on, nEdges, nDrawn) {
    const f = filter(), scale = Math.min(1.6, Math.max(0.5, Math.sqrt(k)));
    const cands = [];
    // Circles are batched by style: one path per fill and per stroke, far
    // fewer draw calls than one per device.
    const fills = new Map(), strokes = new Map();
    const add = (m, key, x, y, r) => { let p = m.get(key); if (!p) m.set(key, p = new Path2D()); p.moveTo(x + r, y); p.arc(x, y, r, 0, 2 * Math.PI); };
    for (const d of shown) {
      const x = sx(d), y = sy(d);
      if (!on(x, y, 30)) continue;
      const r = radius(d) * scale;
      if (d.group) {
        add(fills, (d.alive ? "rgba(63,185,80,0.25)" : "rgba(110,118,129,0.25)") + "|1", x, y, r);
        add(strokes, (d.faulted || (d.sup && d.sup.restart_limit) ? color("fault") : d.node ? nodeColor(d.node) : color("alive")) + "|2", x, y, r);
        if (d.sup && d.sup.id === selected) add(strokes, "#fff|3", x, y, r);
      } else {
        const a = f && !f(d) ? "|0.15" : "|1";
        add(fills, color(stateClass(d)) + a, x, y, r);
        if (d.node) add(strokes, nodeColor(d.node) + "|2", x, y, r);
        if (d.id === selected) add(strokes, "#fff|3", x, y, r + (d.node ? 2 : 0));
        else if (d.is_supervisor) add(strokes, (d.restart_limit ? color("fault") : color("sup")) + "|1.5", x, y, r + (d.node ? 2 : 0));
      }
      cands.push([d, x, y, r, 0]);
      nDrawn++;
    }
    if (!perFrame.draws++) performance.mark("observer-drawn");
    perFrame.max_drawn = Math.max(perFrame.max_drawn, nDrawn);
    perFrame.max_edges = Math.max(perFrame.max_edges, nEdges);
    for (const [key, p] of fills) { const [c, a] = key.split("|"); ctx.globalAlpha = +a; ctx.fillStyle = c; ctx.fill(p); }
    ctx.globalAlpha = 1;
    for (const [key, p] of strokes) { const [c, lw] = key.split("|"); ctx.strokeStyle = c; ctx.lineWidth = +lw; ctx.stroke(p); }
    ctx.globalAlpha = 1;
    drawLabels(cands, w, h);
  }

  // drawLabels places labels by priority (selected, groups and supervisors,
  // faults, then the rest), skipping any that would overlap another label
  // or a node, or leave the canvas: fewer fit when zoomed out, more as the
  // user zooms in. It tries at most MAX_MEASURE labels and draws at most
  // MAX_LABELS; text widths are measured once.
  const widths = new Map();
  function textWidth(text) {
    let w = widths.get(text);
    if (w === undefined) {
      if (widths.size > 20000) widths.clear();
      w = ctx.measureText(text).width; widths.set(text, w);
    }
    return w;
  }
  function drawLabels(cands, w, h) {
    ctx.font = "11px system-ui, sans-serif";
    ctx.textBaseline = "middle";
    const cell = 64, taken = new Map(), boxes = [];
    const take = (b) => {
      for (let gx = Math.floor(b[0] / cell); gx <= Math.floor(b[2] / cell); gx++) for (let gy = Math.floor(b[1] / cell); gy <= Math.floor(b[3] / cell); gy++) {
        const key = gx * 4096 + gy; let l = taken.get(key); if (!l) taken.set(key, l = []); l.push(b);
      }
    };
    // Every node drawn is an obstacle, and so are the toolbar and the note.
    for (const [, x, y, r] of cands) take([x - r, y - r, x + r, y + r]);
    take([0, 0, 430, 34]);
    if (note) take([0, 34, Math.min(w, 8 * note.length), 52]);
    for (const c of cands) { const d = c[0]; c[4] = d.id === selected ? 1e9 : d.group ? 1e6 + d.members : (d.is_supervisor ? 1e5 : 0) + (d.state === "down" ? 0 : 10) + c[3]; }
    cands.sort((a, b) => b[4] - a[4]);
    let placed = 0, tried = 0;
    for (const [d, x, y, r] of cands) {
      if (placed >= MAX_LABELS || tried >= MAX_MEASURE) break;
      tried++;
      let text = d.group ? d.name + " (" + d.members + ")" : d.name || idText(d.id);
      if (!d.group && d.node && d.name) text += " @" + d.node; // an unnamed one's ID names its node
      const tw = textWidth(text);
      // Right of the node, else left of it; never past the canvas edge.
      let bx = x + r + 3;
      if (bx + tw > w - 2) bx = x - r - 3 - tw;
      const b = [bx - 1, y - 7, bx + tw + 1, y + 7];
      if (b[0] < 2 || b[1] < 2 || b[3] > h - 24) continue;
      if (hitExcept(b, x, y, r)) continue;
      take(b); boxes.push(b);
      ctx.fillStyle = d.id === selected ? "#fff" : d.state === "down" ? "#8b949e" : "#c9d1d9";
      ctx.fillText(text, bx, y);
      placed++;
    }
    function hitExcept(b, x, y, r) {
      for (let gx = Math.floor(b[0] / cell); gx <= Math.floor(b[2] / cell); gx++) for (let gy = Math.floor(b[1] / cell); gy <= Math.floor(b[3] / cell); gy++) {
        const l = taken.get(gx * 4096 + gy); if (!l) continue;
        for (const o of l) {
          if (o[0] === x - r && o[1] === y - r) continue; // its own node
          if (b[0] < o[2] && b[2] > o[0] && b[1] < o[3] && b[3] > o[1]) return true;
        }
      }
      return false;
    }
    perFrame.max_measured = Math.max(perFrame.max_measured, tried);
    perFrame.max_labels = Math.max(perFrame.max_labels, placed);
    // For tests: how many labels are drawn, and where (canvas pixels).
    window.observerLabels = placed;
    window.observerLabelBoxes = { width: w, height: h, boxes };
  }

  // ---- frame loop ----------------------------------------------------------------

  // Work per frame is bounded: the graph is rebuilt at most twice a
  // second when large, laid out for at most MAX_STEPS steps within
  // STEP_MS, and drawn only when it is the view shown and something moved
  // or changed, at most MAX_DRAW items and MAX_LABELS labels; the table
  // renders the rows in view; the side panel waits for a frame the graph
  // left light. perFrame counts it, for the browser test.
  const perFrame = { frames: 0, draws: 0, steps: 0, max_steps: 0, max_drawn: 0, max_edges: 0, max_measured: 0, max_labels: 0, rebuilds: 0, max_rows: 0, tree_renders: 0 };
  window.observerFrameStats = perFrame;
  window.observerAlpha = () => alpha; // the layout's heat: it moves until this is 0.02 or less
  let lastTable = -1e9, lastSide = -1e9, lastTimeline = -1e9, noteShown = "", lastResync = 0, lastRebuild = -1e9, sideWait = 0, statsShown = false;
  function frame(t) {
    const t0 = performance.now(), view = currentView(), large = devices.size > 3000;
    perFrame.frames++;
    let drew = false;
    if (view === "graph") {
      if (graphDirty && (!large || t - lastRebuild > 500)) { rebuild(); lastRebuild = t; }
      if (alpha > 0.02) {
        let n = 0;
        do { step(); n++; } while (alpha > 0.02 && n < MAX_STEPS && performance.now() - t0 < STEP_MS);
        perFrame.steps += n; perFrame.max_steps = Math.max(perFrame.max_steps, n);
        dirty = true;
      }
      if (edgesSkipped && performance.now() - lastMove >= MOVE_MS) dirty = true;
      if (dirty) {
        if (autoFit) fit();
        draw(); drew = true;
      }
      if (noteShown !== note) { $("graphNote").textContent = note; noteShown = note; }
    }
    if (view === "table" && tableDirty && t - lastTable > (large ? 500 : 100)) { renderTable(); tableDirty = false; lastTable = t; }
    if (view === "timeline" && (timelineDirty || t - lastTimeline > 5000)) { renderTimeline(); timelineDirty = false; lastTimeline = t; }
    if (view === "charts" && Date.now() - seriesAt > 2000) loadSeries();
    if (view === "nodes" && (nodesDirty || t - lastNodes > 2000)) { renderNodes(); nodesDirty = false; lastNodes = t; }
    dirty = false;
    // The side panels change with the model, not with the view (and
    // their ages every few seconds, less often when large).
    if (t - lastSide > (large ? 30000 : 5000)) sideDirty = true;
    if (sideDirty && t - lastSide > (large ? 2000 : 200)) {
      if (!statsShown) { renderStats(); statsShown = true; } // the header first, at once
      if (drew && performance.now() - t0 > STEP_MS && sideWait++ < 30) { requestAnimationFrame(frame); return; }
      sideWait = 0; statsShown = false;
      renderStats();
      if (!$("tab-tree").hidden) { renderTree(); perFrame.tree_renders++; }
      if (!$("tab-device").hidden) renderDevice();
      sideDirty = false; lastSide = t;
    }
    requestAnimationFrame(frame);
  }

  function currentView() { return $("view").value; }
  function setView(v) {
    $("view").value = v;
    for (const name of ["graph", "table", "charts", "timeline", "nodes"]) $(name + "View").hidden = name !== v;
    dirty = true; tableDirty = true; timelineDirty = true; graphDirty = true; nodesDirty = true;
    if (v === "charts") loadSeries();
  }

  // ---- input ---------------------------------------------------------------------

  function worldAt(ev) {
    const rect = canvas.getBoundingClientRect();
    return { x: (ev.clientX - rect.left - rect.width / 2 - view.x) / view.k, y: (ev.clientY - rect.top - rect.height / 2 - view.y) / view.k };
  }

  function nearest(ev) {
    const p = worldAt(ev);
    let best = null, bd = Infinity;
    for (const d of shown) {
      const lim = (radius(d) * Math.min(1.6, Math.max(0.5, Math.sqrt(view.k))) + 4) / view.k;
      const q = (d.x - p.x) ** 2 + (d.y - p.y) ** 2;
      if (q < lim * lim && q < bd) { bd = q; best = d; }
    }
    return best;
  }

  let drag = null;
  canvas.addEventListener("mousedown", (ev) => { drag = { x: ev.clientX, y: ev.clientY, moved: false }; canvas.classList.add("dragging"); });
  window.addEventListener("mouseup", (ev) => {
    if (drag && !drag.moved) {
      const d = nearest(ev);
      if (d && d.group) { if (d.sup) select(d.sup.id); }
      else if (d) select(d.id);
    }
    drag = null; canvas.classList.remove("dragging");
  });
  canvas.addEventListener("mousemove", (ev) => {
    if (drag) {
      const dx = ev.clientX - drag.x, dy = ev.clientY - drag.y;
      if (Math.abs(dx) + Math.abs(dy) > 2) drag.moved = true;
      view.x += dx; view.y += dy; drag.x = ev.clientX; drag.y = ev.clientY; dirty = true; autoFit = false; lastMove = performance.now(); return;
    }
    const d = nearest(ev), tip = $("tooltip");
    if (!d) { tip.hidden = true; return; }
    const rect = canvas.getBoundingClientRect();
    tip.hidden = false;
    tip.style.left = Math.min(ev.clientX - rect.left + 12, rect.width - 260) + "px"; tip.style.top = ev.clientY - rect.top + 12 + "px";
    tip.textContent = d.group ? d.name + ": " + d.members + " devices, " + d.alive + " alive" :
      label(d.id, d.name) + (d.node ? " on " + d.node : "") + " \u2014 " + d.state + (d.fault ? " (" + d.fault.kind + ")" : "") + ", " + d.links.size + " links";
  });
  canvas.addEventListener("wheel", (ev) => {
    ev.preventDefault();
    const rect = canvas.getBoundingClientRect();
    const cx = ev.clientX - rect.left - rect.width / 2, cy = ev.clientY - rect.top - rect.height / 2;
    const f = Math.exp(-ev.deltaY * 0.0015), k = Math.min(20, Math.max(0.02, view.k * f));
    view.x = cx - (cx - view.x) * k / view.k; view.y = cy - (cy - view.y) * k / view.k; view.k = k;
    dirty = true; autoFit = false; lastMove = performance.now();
  }, { passive: false });

  for (const b of document.querySelectorAll(".tabs button")) b.addEventListener("click", () => showTab(b.dataset.tab));
  $("fit").addEventListener("click", () => { autoFit = true; heat(0.05); dirty = true; });
  $("centre").addEventListener("click", () => { if (selected) centreOn(selected); });
  $("search").addEventListener("input", () => { changed(true, true); });
  $("showDown").addEventListener("change", () => { showDownOn = $("showDown").checked; changed(true, true); timelineDirty = true; });
  $("group").addEventListener("change", () => { graphDirty = true; autoFit = true; heat(0.6); dirty = true; });
  $("focus").addEventListener("change", () => { graphDirty = true; autoFit = true; heat(0.4); dirty = true; });
  $("view").addEventListener("change", () => setView($("view").value));
  $("timeWindow").addEventListener("change", () => { timelineDirty = true; });
  $("chartWindow").addEventListener("change", () => loadSeries());
  window.addEventListener("resize", () => { dirty = true; if (currentView() === "charts") renderCharts(); drawRows(); });

  // ---- cost ---------------------------------------------------------------------

  // The page measures itself (for the browser test and the curious, in
  // window.observerProfile): the time spent in each of its costly steps.
  const profile = {};
  window.observerProfile = profile;
  function timed(name, fn) {
    const p = profile[name] = { calls: 0, ms: 0, max_ms: 0 };
    return function () {
      const t0 = performance.now();
      try { return fn.apply(this, arguments); } finally {
        const dt = performance.now() - t0;
        p.calls++; p.ms += dt; if (dt > p.max_ms) p.max_ms = dt;
      }
    };
  }
  loadSnapshot = timed("loadSnapshot", loadSnapshot);
  renderStats = timed("renderStats", renderStats);
  renderTimeline = timed("renderTimeline", renderTimeline);
  renderTree = timed("renderTree", renderTree);
  renderDevice = timed("renderDevice", renderDevice);
  renderTable = timed("renderTable", renderTable);
  drawRows = timed("drawRows", drawRows);
  rebuild = timed("rebuild", rebuild);
  step = timed("step", step);
  draw = timed("draw", draw);
  drawLabels = timed("drawLabels", drawLabels);
  frame = timed("frame", frame);

  setupTable();
  showDownOn = $("showDown").checked;
  (async function start() {
    await resync();
    performance.mark("observer-loaded");
    await loadCluster();
    connect();
    setInterval(loadCluster, 2000);
    // The page forgets down devices as the recorder does; a full reload
    // comes only after a gap in the stream, and every few minutes.
    lastResync = Date.now();
    setInterval(() => {
      forget();
      if (source && Date.now() - lastResync > RESYNC_MS) { lastResync = Date.now(); resync(); }
    }, 1000);
    requestAnimationFrame(frame);
  })();
})();
