// The dashboard of the Compute subnet's renter API. Plain JavaScript, no
// dependencies: hash routes (#/, #/miner/<hotkey>, #/validator, #/rentals),
// data from the /v1 endpoints of the same origin, charts drawn as SVG. No
// inline script, style attribute or event handler attribute anywhere, so the
// page runs under "default-src 'self'".
(function () {
  "use strict";

  const KEY_STORE = "compute.apiKey";
  const FILTER_STORE = "compute.overview";
  const REFRESH_MS = 10000;
  const SVG_NS = "http://www.w3.org/2000/svg";

  // ---------------------------------------------------------------- DOM

  // h builds an element: h("a", {href: "#/", class: "x", onclick: fn}, "text", child...).
  function h(tag, attrs, ...children) {
    return build(document.createElement(tag), attrs, children);
  }

  // s builds an SVG element the same way.
  function s(tag, attrs, ...children) {
    return build(document.createElementNS(SVG_NS, tag), attrs, children);
  }

  function build(el, attrs, children) {
    if (attrs) {
      for (const [k, v] of Object.entries(attrs)) {
        if (v === null || v === undefined || v === false) continue;
        if (k.startsWith("on") && typeof v === "function") {
          el.addEventListener(k.slice(2), v);
        } else if (k === "text") {
          el.textContent = v;
        } else if (k === "props") {
          Object.assign(el, v);
        } else {
          el.setAttribute(k, v === true ? "" : String(v));
        }
      }
    }
    append(el, children);
    return el;
  }

  function append(el, children) {
    for (const c of children) {
      if (c === null || c === undefined || c === false) continue;
      if (Array.isArray(c)) append(el, c);
      else el.append(c instanceof Node ? c : String(c));
    }
  }

  function clear(el) {
    while (el.firstChild) el.removeChild(el.firstChild);
    return el;
  }

  const $ = (sel, root) => (root || document).querySelector(sel);

  // ---------------------------------------------------------------- formatting

  const dateFmt = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });
  const timeFmt = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
  const dayFmt = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" });
  const intFmt = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });

  function parseTime(v) {
    if (!v) return null;
    const t = Date.parse(v);
    return Number.isFinite(t) ? t : null;
  }

  function fmtDate(v) {
    const t = parseTime(v);
    return t === null ? "—" : dateFmt.format(t);
  }

  // fmtSpan says how long ms is, in its two largest units: "2 d 4 h", "35 min".
  function fmtSpan(ms) {
    const sec = Math.round(Math.abs(ms) / 1000);
    if (sec < 60) return sec + " s";
    const min = Math.floor(sec / 60);
    if (min < 60) return min + " min";
    const hr = Math.floor(min / 60);
    if (hr < 48) return hr + " h" + (min % 60 ? " " + (min % 60) + " min" : "");
    const d = Math.floor(hr / 24);
    return d + " d" + (hr % 24 ? " " + (hr % 24) + " h" : "");
  }

  function fmtRel(v) {
    const t = parseTime(v);
    if (t === null) return "—";
    const d = t - Date.now();
    if (Math.abs(d) < 5000) return "just now";
    return d > 0 ? "in " + fmtSpan(d) : fmtSpan(d) + " ago";
  }

  // timeEl is a <time> showing a relative time, with the full date on hover.
  function timeEl(v, cls) {
    if (!parseTime(v)) return h("span", { class: "muted" }, "—");
    return h("time", { datetime: v, title: fmtDate(v), class: cls }, fmtRel(v));
  }

  function fmtNum(v, digits) {
    if (typeof v !== "number" || !Number.isFinite(v)) return "—";
    return v.toLocaleString(undefined, { minimumFractionDigits: digits, maximumFractionDigits: digits });
  }

  function fmtPct(v, digits) {
    if (typeof v !== "number" || !Number.isFinite(v)) return "—";
    return fmtNum(v * 100, digits === undefined ? 1 : digits) + " %";
  }

  function fmtSecs(v) {
    if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) return "—";
    return fmtNum(v, v < 10 ? 2 : 1) + " s";
  }

  function fmtBytes(v) {
    if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) return "—";
    const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let i = 0;
    while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
    return v.toLocaleString(undefined, { maximumFractionDigits: v < 10 && i > 0 ? 1 : 0 }) + " " + units[i];
  }

  function shortKey(k) {
    if (typeof k !== "string") return "—";
    return k.length > 14 ? k.slice(0, 6) + "…" + k.slice(-4) : k;
  }

  function shortModel(m) {
    return String(m || "unknown").replace(/^NVIDIA\s+/i, "").replace(/^GeForce\s+/i, "");
  }

  // gpuGroups counts a miner's GPUs by model: [["H200", 8]].
  function gpuGroups(specs) {
    const out = new Map();
    if (!specs || !Array.isArray(specs.gpus)) return [];
    for (const g of specs.gpus) {
      const m = (g && g.model) || "unknown";
      out.set(m, (out.get(m) || 0) + 1);
    }
    return Array.from(out.entries());
  }

  function gpuCount(m) {
    if (!m.specs) return 0;
    if (typeof m.specs.gpu_count === "number") return m.specs.gpu_count;
    return Array.isArray(m.specs.gpus) ? m.specs.gpus.length : 0;
  }

  function gpuText(m) {
    if (!m.specs) return "no specs";
    const g = gpuGroups(m.specs);
    if (!g.length) return "CPU only";
    return g.map(([model, n]) => n + " × " + shortModel(model)).join(", ");
  }

  // ---------------------------------------------------------------- badges

  const VERIFIED = {
    verified: ["ok", "verified"],
    failed: ["bad", "failed"],
    pending: ["warn", "pending"],
    unchecked: ["", "unchecked"],
  };

  function verifiedBadge(m) {
    const [cls, label] = VERIFIED[m.verified] || ["", m.verified || "unknown"];
    let title = "Canary check: " + label;
    if (m.verified_reason) title += " (" + m.verified_reason + ")";
    if (parseTime(m.verified_at)) title += ", " + fmtDate(m.verified_at);
    const badge = h("span", { class: "badge " + cls, title: title }, label);
    if (!m.verified_reason) return badge;
    return h("span", { class: "verified" }, badge, h("span", { class: "why", title: title }, m.verified_reason.replace(/_/g, " ")));
  }

  const STATUS = {
    active: "ok", set: "ok", revealed: "ok",
    unhealthy: "bad", missed: "bad",
    pending: "info",
    released: "", expired: "", superseded: "",
  };

  function statusBadge(st, title) {
    return h("span", { class: "badge " + (STATUS[st] || ""), title: title }, st || "unknown");
  }

  // ---------------------------------------------------------------- API

  function getKey() {
    try { return sessionStorage.getItem(KEY_STORE) || ""; } catch (e) { return ""; }
  }

  function setKey(k) {
    try {
      if (k) sessionStorage.setItem(KEY_STORE, k);
      else sessionStorage.removeItem(KEY_STORE);
    } catch (e) { /* storage refused: the key lives until the tab reloads */ }
    memKey = k;
    updateKeyButton();
  }

  let memKey = "";
  const currentKey = () => getKey() || memKey;

  class ApiError extends Error {
    constructor(status, problem) {
      const p = problem && typeof problem === "object" ? problem : {};
      super(p.title || ("HTTP " + status));
      this.status = status;
      this.problem = p;
    }
  }

  // api fetches a /v1 path and returns its JSON; a failure is an ApiError
  // carrying the problem+json document (or one made up from the response).
  async function api(path, opts) {
    opts = opts || {};
    const headers = { Accept: "application/json, application/problem+json" };
    const key = currentKey();
    if (key) headers.Authorization = "Bearer " + key;
    let body;
    if (opts.body !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(opts.body);
    }
    Object.assign(headers, opts.headers || {});
    let res;
    try {
      res = await fetch(path, { method: opts.method || "GET", headers: headers, body: body, cache: "no-store", credentials: "same-origin", signal: opts.signal });
    } catch (e) {
      if (e && e.name === "AbortError") throw e;
      throw new ApiError(0, { title: "The API cannot be reached", detail: String((e && e.message) || e) });
    }
    const text = await res.text();
    let doc = null;
    if (text) {
      try { doc = JSON.parse(text); } catch (e) { doc = null; }
    }
    if (!res.ok) {
      if (doc && typeof doc === "object" && (doc.title || doc.detail)) throw new ApiError(res.status, doc);
      throw new ApiError(res.status, { title: res.statusText || ("HTTP " + res.status), status: res.status, detail: text.slice(0, 400) });
    }
    if (doc === null || typeof doc !== "object") {
      throw new ApiError(res.status, { title: "Unexpected answer from " + path, detail: "Not a JSON document: " + text.slice(0, 200) });
    }
    return doc;
  }

  const isAuthError = (e) => e instanceof ApiError && (e.status === 401 || e.status === 403);

  // problemBox shows an API error the way problem+json describes it.
  function problemBox(e, context) {
    const p = (e && e.problem) || {};
    const status = (e && e.status) || p.status;
    const title = p.title || (e && e.message) || "Something went wrong";
    return h("div", { class: "problem", role: "alert" },
      h("div", { class: "title" }, (context ? context + ": " : "") + title + (status ? " (" + status + ")" : "")),
      p.detail ? h("div", { class: "detail" }, p.detail) : null,
      (p.type && p.type !== "about:blank") || p.instance
        ? h("div", { class: "type" }, [p.type && p.type !== "about:blank" ? p.type : "", p.instance || ""].filter(Boolean).join(" · "))
        : null);
  }

  // ---------------------------------------------------------------- key

  function keyForm(onSaved, opts) {
    opts = opts || {};
    const id = "key-" + Math.random().toString(36).slice(2, 8);
    const input = h("input", {
      id: id, type: "password", name: "api-key", autocomplete: "off", spellcheck: "false",
      placeholder: "Paste an API key", required: true, "aria-describedby": id + "-hint",
    });
    const form = h("form", {
      class: "keyform",
      onsubmit: (ev) => {
        ev.preventDefault();
        const k = input.value.trim();
        if (!k) { input.focus(); return; }
        setKey(k);
        input.value = "";
        if (onSaved) onSaved();
      },
    },
    h("label", { for: id }, opts.label || "API key"),
    input,
    h("button", { type: "submit", class: "primary" }, "Use key"),
    h("p", { class: "hint", id: id + "-hint" },
      "Kept in this tab only (sessionStorage) and sent to this server as Authorization: Bearer."));
    return form;
  }

  function keySet(onForget) {
    const k = currentKey();
    return h("div", { class: "keyset" },
      h("span", {}, "Using API key ", h("code", {}, "…" + k.slice(-4))),
      h("button", { type: "button", class: "small", onclick: () => { setKey(""); if (onForget) onForget(); } }, "Forget key"));
  }

  function updateKeyButton() {
    const b = $("#keybtn");
    if (!b) return;
    const has = !!currentKey();
    b.classList.toggle("has-key", has);
    b.textContent = has ? "Key set" : "API key";
    b.title = has ? "An API key is in use for this tab" : "Use an API key";
  }

  function renderKeyPanel() {
    const panel = $("#keypanel");
    clear(panel);
    const close = () => { panel.hidden = true; $("#keybtn").setAttribute("aria-expanded", "false"); };
    const reload = () => { close(); route(); };
    panel.append(currentKey() ? keySet(reload) : keyForm(reload));
  }

  // needKey replaces a page's content with a notice that the API wants a key.
  function needKey(container, e, again) {
    clear(container);
    const refused = currentKey() !== "";
    const forbidden = e && e.status === 403;
    container.append(h("section", { class: "notice needkey", "aria-labelledby": "needkey-h" },
      h("h2", { id: "needkey-h" }, forbidden ? "This key may not read this" : refused ? "The API refused this key" : "This page needs an API key"),
      h("p", { class: "muted" }, forbidden
        ? "The key in use lacks the scope these endpoints need. Paste a key with the read scope (rentals need the rent scope)."
        : refused ? "Paste another key." : "The server does not serve its data without a key. Paste a key with the read scope."),
      e ? problemBox(e) : null,
      keyForm(again)));
  }

  // ---------------------------------------------------------------- copy

  async function copyText(text, btn) {
    const label = btn.textContent;
    let ok = false;
    try {
      if (navigator.clipboard && window.isSecureContext) {
        await navigator.clipboard.writeText(text);
        ok = true;
      }
    } catch (e) { ok = false; }
    if (!ok) {
      const ta = h("textarea", { class: "offscreen", readonly: true, "aria-hidden": "true" });
      ta.value = text;
      document.body.append(ta);
      ta.select();
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      ta.remove();
    }
    btn.textContent = ok ? "Copied" : "Select and copy";
    setTimeout(() => { btn.textContent = label; }, 1600);
  }

  function copyButton(text, label) {
    return h("button", {
      type: "button", class: "small", "aria-label": label || "Copy",
      onclick: (ev) => copyText(text, ev.currentTarget),
    }, "Copy");
  }

  // ---------------------------------------------------------------- charts

  // niceTicks picks about n round values covering [lo, hi].
  function niceTicks(lo, hi, n) {
    if (!(hi > lo)) { const d = Math.abs(lo) || 1; lo -= d / 2; hi += d / 2; }
    const raw = (hi - lo) / Math.max(1, n);
    const mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((st) => st >= raw) || 10 * mag;
    const start = Math.floor(lo / step) * step;
    const ticks = [];
    for (let v = start; v <= hi + step * 0.5 && ticks.length < 20; v += step) ticks.push(+v.toPrecision(12));
    if (ticks[ticks.length - 1] < hi) ticks.push(+(ticks[ticks.length - 1] + step).toPrecision(12));
    return ticks;
  }

  const HOUR = 3600e3;
  function timeTicks(t0, t1, width) {
    const span = t1 - t0;
    const want = Math.max(2, Math.floor(width / 90));
    const steps = [5 * 60e3, 10 * 60e3, 15 * 60e3, 30 * 60e3, HOUR, 2 * HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR, 24 * HOUR, 48 * HOUR, 7 * 24 * HOUR];
    const step = steps.find((st) => span / st <= want) || steps[steps.length - 1];
    const off = new Date().getTimezoneOffset() * 60e3;
    const ticks = [];
    for (let t = Math.ceil((t0 - off) / step) * step + off; t <= t1; t += step) ticks.push(t);
    return { ticks: ticks, daily: step >= 24 * HOUR || span > 36 * HOUR };
  }

  // chart draws a time chart into the box: kind "line" (with an area),
  // "step", "dots" (points with ok: false drawn as failures) or "bars"
  // (categorical, pts [{label, total, ok}]).
  function chart(box, cfg) {
    clear(box);
    const pts = cfg.points || [];
    if (!pts.length) {
      box.append(h("div", { class: "chart-empty" }, cfg.empty || "No data in this period."));
      return;
    }
    const W = Math.max(260, Math.floor(box.clientWidth || 600));
    const H = cfg.height || 190;
    const m = { l: 46, r: 12, t: 10, b: 24 };
    const iw = W - m.l - m.r, ih = H - m.t - m.b;
    const svg = s("svg", { width: W, height: H, viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": cfg.label });
    svg.append(s("title", { text: cfg.label }));

    if (cfg.kind === "bars") {
      const maxV = Math.max(1, ...pts.map((p) => p.total));
      const yt = niceTicks(0, maxV, 3).filter((v) => Number.isInteger(v));
      const yMax = Math.max(yt[yt.length - 1], maxV);
      const y = (v) => m.t + ih - (v / yMax) * ih;
      for (const v of yt) {
        svg.append(s("line", { class: "grid", x1: m.l, x2: W - m.r, y1: y(v), y2: y(v) }));
        svg.append(s("text", { class: "tick", x: m.l - 8, y: y(v) + 4, "text-anchor": "end", text: String(v) }));
      }
      const bw = iw / pts.length;
      const barW = Math.max(3, Math.min(28, bw * 0.62));
      pts.forEach((p, i) => {
        const x = m.l + i * bw + (bw - barW) / 2;
        const g = s("g", {}, s("title", { text: p.title }));
        g.append(s("rect", { class: "bar-total", x: x, y: y(p.total), width: barW, height: Math.max(0, y(0) - y(p.total)), rx: 2 }));
        g.append(s("rect", { class: "bar-ok", x: x, y: y(p.ok), width: barW, height: Math.max(0, y(0) - y(p.ok)), rx: 2 }));
        svg.append(g);
        const every = Math.ceil(pts.length / Math.max(1, Math.floor(iw / 56)));
        if (i % every === 0) svg.append(s("text", { class: "tick", x: x + barW / 2, y: H - 6, "text-anchor": "middle", text: p.label }));
      });
      box.append(svg);
      return;
    }

    let t0 = cfg.from, t1 = cfg.to;
    if (!(t1 > t0)) { t0 = pts[0].t; t1 = pts[pts.length - 1].t; }
    if (!(t1 > t0)) { t0 -= HOUR / 2; t1 += HOUR / 2; }
    const vals = pts.map((p) => p.v);
    let lo = cfg.min !== undefined ? Math.min(cfg.min, ...vals) : Math.min(...vals);
    let hi = cfg.max !== undefined ? Math.max(cfg.max, ...vals) : Math.max(...vals);
    if (cfg.kind === "step" && hi - lo < 2) { lo -= 1; hi += 1; }
    let yt = niceTicks(lo, hi, 4);
    if (cfg.integer) {
      yt = yt.filter(Number.isInteger);
      if (yt.length < 2) yt = [Math.floor(lo), Math.ceil(hi)];
    }
    lo = Math.min(lo, yt[0]);
    hi = Math.max(hi, yt[yt.length - 1]);
    const x = (t) => m.l + ((t - t0) / (t1 - t0)) * iw;
    const y = (v) => m.t + ih - ((v - lo) / (hi - lo || 1)) * ih;
    const fmt = cfg.fmt || ((v) => fmtNum(v, 0));
    for (const v of yt) {
      svg.append(s("line", { class: "grid", x1: m.l, x2: W - m.r, y1: y(v), y2: y(v) }));
      svg.append(s("text", { class: "tick", x: m.l - 8, y: y(v) + 4, "text-anchor": "end", text: (cfg.tickFmt || fmt)(v) }));
    }
    const xt = timeTicks(t0, t1, iw);
    for (const t of xt.ticks) {
      svg.append(s("line", { class: "axis", x1: x(t), x2: x(t), y1: m.t + ih, y2: m.t + ih + 4 }));
      svg.append(s("text", { class: "tick", x: x(t), y: H - 6, "text-anchor": "middle", text: xt.daily ? dayFmt.format(t) : timeFmt.format(t) }));
    }
    svg.append(s("line", { class: "axis", x1: m.l, x2: W - m.r, y1: m.t + ih, y2: m.t + ih }));

    const tip = (p) => fmtDate(new Date(p.t).toISOString()) + " — " + (p.tip || fmt(p.v));
    if (cfg.kind === "dots") {
      const r = pts.length > 150 ? 2.5 : 3.5;
      for (const p of pts) {
        svg.append(s("circle", { class: "dot" + (p.ok === false ? " bad" : ""), cx: x(p.t), cy: y(p.v), r: r }, s("title", { text: tip(p) })));
      }
    } else {
      let d = "";
      pts.forEach((p, i) => {
        const px = x(p.t).toFixed(1), py = y(p.v).toFixed(1);
        if (i === 0) d += "M" + px + " " + py;
        else if (cfg.kind === "step") d += "H" + px + "V" + py;
        else d += "L" + px + " " + py;
      });
      if (cfg.kind === "step") d += "H" + x(Math.max(pts[pts.length - 1].t, t1)).toFixed(1);
      if (cfg.kind === "line") {
        const last = pts[pts.length - 1];
        svg.append(s("path", { class: "area", d: d + "L" + x(last.t).toFixed(1) + " " + (m.t + ih) + "L" + x(pts[0].t).toFixed(1) + " " + (m.t + ih) + "Z" }));
      }
      svg.append(s("path", { class: "line", d: d }));
      // Points to hover (a native tooltip each), thinned to one per 6 px.
      let lastX = -Infinity;
      for (const p of pts) {
        const px = x(p.t);
        if (px - lastX < 6) continue;
        lastX = px;
        svg.append(s("circle", { class: "hit", cx: px, cy: y(p.v), r: 5 }, s("title", { text: tip(p) })));
      }
      const last = pts[pts.length - 1];
      svg.append(s("circle", { class: "dot last", cx: x(last.t), cy: y(last.v), r: 4 }, s("title", { text: tip(last) })));
    }
    box.append(svg);
  }

  // ---------------------------------------------------------------- pages

  // Each page gets a fresh Page: its timers and requests end when the route changes.
  class Page {
    constructor() {
      this.timers = [];
      this.ctl = new AbortController();
      this.cleanups = [];
      this.dead = false;
    }
    get signal() { return this.ctl.signal; }
    every(ms, fn) {
      const tick = async () => {
        if (this.dead) return;
        if (!document.hidden) {
          try { await fn(); } catch (e) { if (!(e && e.name === "AbortError")) console.warn(e); }
        }
        if (!this.dead) this.timers.push(setTimeout(tick, ms));
      };
      this.timers.push(setTimeout(tick, ms));
    }
    on(target, ev, fn) {
      target.addEventListener(ev, fn);
      this.cleanups.push(() => target.removeEventListener(ev, fn));
    }
    stop() {
      this.dead = true;
      this.timers.forEach(clearTimeout);
      this.ctl.abort();
      this.cleanups.forEach((f) => f());
    }
  }

  let page = null;
  const main = () => $("#main");

  function setFooter(status) {
    const el = $("#foot-status");
    if (!el || !status) return;
    clear(el).append("Block " + intFmt.format(status.block) + " · netuid " + status.netuid + " · v" + status.version);
    $("#brand-net").textContent = "SN" + status.netuid;
  }

  function updatedNote(el, ok, every) {
    if (!el) return;
    clear(el);
    if (ok === true) {
      el.className = "muted";
      el.append("Updated " + timeFmt.format(Date.now()) + " · refreshes every " + (every || REFRESH_MS) / 1000 + " s");
    } else {
      el.className = "stale";
      el.append("Refresh failed (" + ok + "); showing earlier data");
    }
  }

  // ---- overview

  function loadFilters() {
    const d = { q: "", verified: false, gpu: "", alloc: "", sort: "uid", dir: 1 };
    try { Object.assign(d, JSON.parse(sessionStorage.getItem(FILTER_STORE) || "{}")); } catch (e) { /* defaults */ }
    return d;
  }

  const overviewState = { f: null };

  const COLS = [
    { key: "uid", label: "UID", num: true, val: (m) => m.uid, cell: (m) => String(m.uid) },
    { key: "hotkey", label: "Hotkey", val: (m) => m.hotkey || "", cell: (m) => h("a", { class: "hk", href: "#/miner/" + encodeURIComponent(m.hotkey), title: m.hotkey }, shortKey(m.hotkey)) },
    { key: "gpus", label: "GPUs", val: (m) => (m.specs ? gpuCount(m) : -1), desc: true, cell: (m) => h("span", { class: m.specs && gpuCount(m) ? "" : "muted", title: m.specs ? (m.specs.gpus || []).map((g) => g.model + " " + fmtBytes(g.memory_bytes)).join("\n") : null }, gpuText(m)) },
    { key: "cpu", label: "CPU", num: true, desc: true, val: (m) => (m.specs ? m.specs.cpu_count : null), cell: (m) => (m.specs ? String(m.specs.cpu_count) : "—") },
    { key: "ram", label: "RAM", num: true, desc: true, val: (m) => (m.specs ? m.specs.ram_bytes : null), cell: (m) => (m.specs ? fmtBytes(m.specs.ram_bytes) : "—") },
    { key: "verified", label: "Verified", val: (m) => ({ verified: 0, pending: 1, unchecked: 2, failed: 3 }[m.verified] ?? 4), cell: verifiedBadge },
    { key: "difficulty", label: "Difficulty", short: "Diff.", num: true, desc: true, val: (m) => m.difficulty, cell: (m) => fmtNum(m.difficulty, 0) },
    { key: "success_rate", label: "Success", num: true, desc: true, val: (m) => (m.challenges ? m.success_rate : null), cell: (m) => (m.challenges ? fmtPct(m.success_rate) : "—") },
    { key: "average_time", label: "Avg time", short: "Time", num: true, val: (m) => (m.average_time > 0 ? m.average_time : null), cell: (m) => fmtSecs(m.average_time) },
    { key: "score", label: "Score", num: true, desc: true, val: (m) => m.score, cell: scoreCell },
    { key: "weight", label: "Weight", num: true, desc: true, val: (m) => m.weight, cell: (m) => fmtPct(m.weight) },
    { key: "allocated", label: "Allocated", short: "Leased", val: (m) => (m.allocated ? 0 : 1), cell: (m) => (m.allocated ? h("span", { class: "badge info" }, "yes") : h("span", { class: "muted" }, "no")) },
  ];

  function scoreCell(m) {
    const v = typeof m.score === "number" && Number.isFinite(m.score) ? Math.max(0, Math.min(1, m.score)) : 0;
    const fill = h("span");
    fill.style.setProperty("--v", String(v));
    return h("span", { class: "scorebar" }, h("span", { class: "bar", "aria-hidden": "true" }, fill), fmtNum(m.score, 3));
  }

  function matches(m, f) {
    if (f.verified && m.verified !== "verified") return false;
    if (f.alloc === "yes" && !m.allocated) return false;
    if (f.alloc === "no" && m.allocated) return false;
    if (f.gpu === "none" && (!m.specs || gpuCount(m) > 0)) return false;
    if (f.gpu && f.gpu !== "none" && !gpuGroups(m.specs).some(([model]) => model === f.gpu)) return false;
    const q = f.q.trim().toLowerCase();
    if (!q) return true;
    const hay = [String(m.uid), m.hotkey, m.coldkey, m.axon, m.verified, m.verified_reason, gpuText(m),
      ...gpuGroups(m.specs).map(([model]) => model), m.allocated ? "allocated" : "free"].join(" ").toLowerCase();
    return q.split(/\s+/).every((w) => hay.includes(w));
  }

  function sortMiners(list, f) {
    const col = COLS.find((c) => c.key === f.sort) || COLS[0];
    const dir = f.dir < 0 ? -1 : 1;
    return list.slice().sort((a, b) => {
      const va = col.val(a), vb = col.val(b);
      const na = va === null || va === undefined || (typeof va === "number" && !Number.isFinite(va));
      const nb = vb === null || vb === undefined || (typeof vb === "number" && !Number.isFinite(vb));
      if (na || nb) return na === nb ? a.uid - b.uid : na ? 1 : -1; // missing values last, either way
      // Strings in code point order: hotkeys are case-sensitive.
      let c = typeof va === "string" ? (va < vb ? -1 : va > vb ? 1 : 0) : va - vb;
      if (c === 0) c = a.uid - b.uid;
      else c *= dir;
      return c;
    });
  }

  function overview(pg, root) {
    const st = overviewState;
    if (!st.f) st.f = loadFilters();
    const f = st.f;
    const save = () => { try { sessionStorage.setItem(FILTER_STORE, JSON.stringify(f)); } catch (e) { /* not kept */ } };

    const cards = h("div", { class: "cards", id: "cards" });
    const note = h("span", { class: "muted", id: "updated" });
    const problem = h("div");
    const q = h("input", { type: "search", id: "filter-q", placeholder: "Filter: uid, hotkey, GPU model, reason…", "aria-label": "Filter miners", autocomplete: "off", props: { value: f.q } });
    const verified = h("input", { type: "checkbox", id: "filter-verified", props: { checked: !!f.verified } });
    const gpu = h("select", { id: "filter-gpu", "aria-label": "GPU model" });
    const alloc = h("select", { id: "filter-alloc", "aria-label": "Allocation" },
      h("option", { value: "" }, "Allocated or free"), h("option", { value: "yes" }, "Allocated"), h("option", { value: "no" }, "Free"));
    alloc.value = f.alloc;
    const count = h("span", { class: "count", id: "miner-count", "aria-live": "polite" });
    // On a phone the table collapses into one block per miner, without its
    // header row: these pick the order instead.
    const sortSel = h("select", { id: "sort-phone", "aria-label": "Sort by", onchange: () => {
      const c = COLS.find((x) => x.key === sortSel.value) || COLS[0];
      f.sort = c.key; f.dir = c.desc ? -1 : 1;
      save(); renderRows();
    } }, COLS.map((c) => h("option", { value: c.key }, "Sort by " + c.label.toLowerCase())));
    const dirBtn = h("button", { type: "button", id: "sort-dir", class: "small", onclick: () => { f.dir = -f.dir; save(); renderRows(); } });
    const thead = h("tr");
    const tbody = h("tbody", { id: "miners-body" });
    const table = h("table", { id: "miners" }, h("caption", { class: "offscreen" }, "Miners of the subnet"), h("thead", {}, thead), tbody);

    root.append(
      h("div", { class: "page-head" }, h("h1", {}, "Subnet overview"), h("span", { class: "grow" }), note),
      problem,
      cards,
      h("section", { class: "section", "aria-labelledby": "miners-h" },
        h("div", { class: "section-head" }, h("h2", { id: "miners-h" }, "Miners")),
        h("div", { class: "panel" },
          h("form", { class: "filters", role: "search", onsubmit: (e) => e.preventDefault() },
            h("div", { class: "search" }, q),
            h("label", { class: "check" }, verified, "Verified only"),
            gpu, alloc, h("span", { class: "phone-only sortpick" }, sortSel, dirBtn), count),
          h("div", { class: "table-scroll" }, table))));

    for (const c of COLS) {
      const th = h("th", { scope: "col", class: c.num ? "num" : null },
        h("button", { type: "button", class: "sort", "data-sort": c.key, onclick: () => {
          if (f.sort === c.key) f.dir = -f.dir;
          else { f.sort = c.key; f.dir = c.desc ? -1 : 1; }
          save();
          renderRows();
        } }, c.label, h("span", { class: "arrow", "aria-hidden": "true" })));
      thead.append(th);
    }

    const onFilter = () => {
      f.q = q.value; f.verified = verified.checked; f.gpu = gpu.value; f.alloc = alloc.value;
      save();
      renderRows();
    };
    q.addEventListener("input", onFilter);
    verified.addEventListener("change", onFilter);
    gpu.addEventListener("change", onFilter);
    alloc.addEventListener("change", onFilter);

    let data = null;

    function renderGpuOptions() {
      const models = new Set();
      for (const g of (data.gpus.models || [])) models.add(g.model);
      for (const m of data.miners) for (const [model] of gpuGroups(m.specs)) models.add(model);
      if (f.gpu && f.gpu !== "none") models.add(f.gpu);
      append(clear(gpu), [h("option", { value: "" }, "Any GPU model"),
        Array.from(models).sort().map((model) => h("option", { value: model }, shortModel(model))),
        h("option", { value: "none" }, "No GPU (CPU only)")]);
      gpu.value = f.gpu;
    }

    function renderRows() {
      thead.querySelectorAll("th").forEach((th, i) => {
        if (COLS[i].key === f.sort) th.setAttribute("aria-sort", f.dir < 0 ? "descending" : "ascending");
        else th.removeAttribute("aria-sort");
      });
      sortSel.value = f.sort;
      dirBtn.textContent = f.dir < 0 ? "↓" : "↑";
      dirBtn.setAttribute("aria-label", f.dir < 0 ? "Descending; make it ascending" : "Ascending; make it descending");
      if (!data) return;
      const list = sortMiners(data.miners.filter((m) => matches(m, f)), f);
      clear(tbody);
      for (const m of list) {
        tbody.append(h("tr", { "data-uid": m.uid },
          COLS.map((c) => h(c.key === "uid" ? "th" : "td", { class: c.num ? "num" : null, scope: c.key === "uid" ? "row" : null, "data-col": c.key, "data-label": c.short || c.label }, c.cell(m)))));
      }
      if (!list.length) {
        const reset = h("button", { type: "button", class: "link", onclick: () => {
          Object.assign(f, { q: "", verified: false, gpu: "", alloc: "" });
          q.value = ""; verified.checked = false; gpu.value = ""; alloc.value = "";
          save(); renderRows();
        } }, "Clear the filters");
        tbody.append(h("tr", {}, h("td", { class: "empty", colspan: COLS.length },
          data.miners.length ? ["No miner matches the filters. ", reset] : "No miners yet.")));
      }
      count.textContent = list.length === data.miners.length
        ? data.miners.length + " miners" : "Showing " + list.length + " of " + data.miners.length + " miners";
    }

    function card(label, value, noteText, cls) {
      return h("div", { class: "panel card " + (cls || "") }, h("div", { class: "label" }, label), h("div", { class: "value" }, value), noteText ? h("div", { class: "note" }, noteText) : null);
    }

    function renderCards() {
      const st = data.status, ms = data.miners;
      const failed = ms.filter((m) => m.verified === "failed").length;
      const pending = ms.filter((m) => m.verified === "pending").length;
      const totalGpus = (data.gpus.models || []).reduce((a, g) => a + (g.count || 0), 0);
      const gpuCard = h("div", { class: "panel card wide" },
        h("div", { class: "label" }, "GPUs by model"),
        (data.gpus.models || []).length
          ? h("ul", { class: "gpu-list", id: "gpu-models" }, (data.gpus.models || []).map((g) => h("li", { title: g.model },
            h("span", {}, shortModel(g.model)),
            h("span", {}, h("span", { class: "n" }, intFmt.format(g.count)), h("span", { class: "muted" }, " · " + g.verified + " verified · " + g.miners + (g.miners === 1 ? " miner" : " miners"))))))
          : h("div", { class: "note" }, "No GPU reported"),
        totalGpus ? h("div", { class: "note" }, intFmt.format(totalGpus) + " GPUs in all") : null);
      clear(cards).append(
        card("Miners", intFmt.format(st.miners ?? ms.length), "on netuid " + st.netuid),
        card("Verified", intFmt.format(st.verified ?? ms.filter((m) => m.verified === "verified").length),
          [failed ? failed + " failed" : null, pending ? pending + " pending" : null].filter(Boolean).join(" · ") || "by canary leases"),
        card("Allocated", intFmt.format(st.allocated ?? ms.filter((m) => m.allocated).length), "leased now"),
        card("Block", intFmt.format(st.block), "v" + st.version + " · validator " + shortKey(st.validator_hotkey)),
        gpuCard);
    }

    async function load(first) {
      try {
        const [status, miners, gpus] = await Promise.all([
          api("/v1/status", { signal: pg.signal }),
          api("/v1/miners", { signal: pg.signal }),
          api("/v1/gpus", { signal: pg.signal }),
        ]);
        if (pg.dead) return;
        data = { status: status, miners: Array.isArray(miners.miners) ? miners.miners : [], gpus: gpus || { models: [] } };
        clear(problem);
        setFooter(status);
        renderCards();
        renderGpuOptions();
        renderRows();
        updatedNote(note, true);
      } catch (e) {
        if (pg.dead || (e && e.name === "AbortError")) return;
        if (isAuthError(e)) { pg.stop(); needKey(root, e, route); return; }
        if (first || !data) { clear(problem).append(problemBox(e, "Miners")); }
        else updatedNote(note, e.message);
      }
    }

    renderRows();
    pg.every(REFRESH_MS, () => load(false));
    return load(true);
  }

  // ---- miner

  const RANGES = [[6, "6 h"], [24, "24 h"], [72, "3 d"], [168, "7 d"]];
  const minerState = { hours: 24 };

  function minerPage(pg, root, hotkey) {
    const head = h("div");
    const facts = h("div");
    const stats = h("div", { class: "cards" });
    const problem = h("div");
    const note = h("span", { class: "muted" });
    const charts = {
      difficulty: h("div", { class: "chart-body", id: "chart-difficulty" }),
      time: h("div", { class: "chart-body", id: "chart-time" }),
      score: h("div", { class: "chart-body", id: "chart-score" }),
    };
    const nows = { difficulty: h("span", { class: "now" }), time: h("span", { class: "now" }), score: h("span", { class: "now" }) };
    const seg = h("div", { class: "seg", role: "group", "aria-label": "History period" });
    for (const [hrs, label] of RANGES) {
      seg.append(h("button", { type: "button", "data-hours": hrs, "aria-pressed": String(hrs === minerState.hours), onclick: () => {
        minerState.hours = hrs;
        seg.querySelectorAll("button").forEach((b) => b.setAttribute("aria-pressed", String(+b.dataset.hours === hrs)));
        loadHistory();
      } }, label));
    }
    const panel = (key, title, extra) => h("div", { class: "panel chart" },
      h("div", { class: "chart-head" }, h("h3", {}, title), nows[key]), charts[key], extra || null);

    root.append(
      h("a", { class: "back", href: "#/" }, "← All miners"),
      head, problem, stats,
      h("section", { class: "section", "aria-labelledby": "hist-h" },
        h("div", { class: "section-head" }, h("h2", { id: "hist-h" }, "History"), seg, h("span", { class: "grow" }), note),
        h("div", { class: "charts" },
          panel("difficulty", "Difficulty"),
          panel("time", "Solve time", h("div", { class: "legend" }, h("span", {}, "solved"), h("span", { class: "l-bad" }, "failed"))),
          panel("score", "Score"))),
      facts);

    let miner = null, hist = null;

    function renderMiner() {
      const m = miner;
      clear(head).append(h("div", { class: "page-head" },
        h("h1", {}, "Miner " + m.uid),
        h("span", { class: "badges" }, verifiedBadge(m), m.allocated ? h("span", { class: "badge info" }, "allocated") : null),
        h("span", { class: "sub mono", title: m.hotkey }, shortKey(m.hotkey))));
      const stat = (label, value, sub) => h("div", { class: "panel card" }, h("div", { class: "label" }, label), h("div", { class: "value" }, value), sub ? h("div", { class: "note" }, sub) : null);
      clear(stats).append(
        stat("Score", fmtNum(m.score, 3), "weight " + fmtPct(m.weight)),
        stat("Difficulty", fmtNum(m.difficulty, 0)),
        stat("Success rate", m.challenges ? fmtPct(m.success_rate) : "—", intFmt.format(m.challenges || 0) + " challenges"),
        stat("Average time", fmtSecs(m.average_time)),
        stat("GPUs", m.specs ? String(gpuCount(m)) : "—", gpuText(m)));

      const sp = m.specs;
      // One row per model and memory size: eight identical GPUs are one line.
      const groups = new Map();
      for (const g of (sp && Array.isArray(sp.gpus) ? sp.gpus : [])) {
        const k = (g.model || "unknown") + "\u0000" + (g.memory_bytes || 0);
        const e = groups.get(k) || { model: g.model || "unknown", mem: g.memory_bytes, n: 0 };
        e.n++;
        groups.set(k, e);
      }
      const gpuRows = Array.from(groups.values()).map((g) => h("tr", {}, h("td", {}, g.model), h("td", { class: "num" }, String(g.n)), h("td", { class: "num" }, fmtBytes(g.mem))));
      clear(facts).append(h("div", { class: "split section" },
        h("section", { class: "panel pad", "aria-labelledby": "id-h" },
          h("h2", { id: "id-h" }, "Identity"),
          h("dl", { class: "facts section-tight" },
            h("dt", {}, "UID"), h("dd", { class: "num" }, String(m.uid)),
            h("dt", {}, "Hotkey"), h("dd", {}, h("code", {}, m.hotkey), copyButton(m.hotkey, "Copy the hotkey")),
            h("dt", {}, "Coldkey"), h("dd", {}, m.coldkey ? h("code", {}, m.coldkey) : "—"),
            h("dt", {}, "Axon"), h("dd", {}, m.axon ? h("code", {}, m.axon) : "—"),
            h("dt", {}, "Verified"), h("dd", {}, verifiedBadge(m), parseTime(m.verified_at) ? timeEl(m.verified_at, "muted") : null),
            h("dt", {}, "Specs reported"), h("dd", {}, timeEl(m.specs_updated_at)))),
        h("section", { class: "panel pad", "aria-labelledby": "specs-h" },
          h("h2", { id: "specs-h" }, "Specs"),
          sp ? [
            h("dl", { class: "facts section-tight" },
              h("dt", {}, "CPU"), h("dd", { class: "num" }, sp.cpu_count + " cores"),
              h("dt", {}, "RAM"), h("dd", { class: "num" }, fmtBytes(sp.ram_bytes)),
              h("dt", {}, "Disk"), h("dd", { class: "num" }, fmtBytes(sp.disk_bytes)),
              h("dt", {}, "GPUs"), h("dd", {}, gpuText(m))),
            gpuRows.length ? h("div", { class: "table-scroll section-tight" }, h("table", { id: "gpu-table" },
              h("thead", {}, h("tr", {}, h("th", {}, "Model"), h("th", { class: "num" }, "Count"), h("th", { class: "num" }, "Memory each"))),
              h("tbody", {}, gpuRows))) : null,
          ] : h("p", { class: "muted" }, "This miner has sent no specs."),
          m.specs_raw ? h("details", { class: "raw section-tight" }, h("summary", {}, "The report as sent"), h("pre", {}, JSON.stringify(m.specs_raw, null, 2))) : null)));
    }

    function renderCharts() {
      if (!hist) return;
      const to = Date.now(), from = to - minerState.hours * HOUR;
      const ch = (Array.isArray(hist.challenges) ? hist.challenges : []).map((c) => ({ t: parseTime(c.time), c: c })).filter((p) => p.t !== null).sort((a, b) => a.t - b.t);
      const sc = (Array.isArray(hist.scores) ? hist.scores : []).map((p) => ({ t: parseTime(p.time), v: p.score })).filter((p) => p.t !== null && Number.isFinite(p.v)).sort((a, b) => a.t - b.t);
      const diff = ch.filter((p) => Number.isFinite(p.c.difficulty)).map((p) => ({ t: p.t, v: p.c.difficulty }));
      const times = ch.filter((p) => Number.isFinite(p.c.elapsed)).map((p) => ({ t: p.t, v: p.c.elapsed, ok: !!p.c.success, tip: fmtSecs(p.c.elapsed) + (p.c.success ? "" : ", failed") + " at difficulty " + p.c.difficulty }));
      const lbl = " over the last " + RANGES.find((r) => r[0] === minerState.hours)[1];
      // The chart spans the data when the server's clock or the data's lies outside the asked period.
      const span = (pts) => (pts.length && pts[0].t >= from - HOUR && pts[pts.length - 1].t <= to + HOUR ? [from, to] : [undefined, undefined]);
      let [f1, t1] = span(diff);
      chart(charts.difficulty, { kind: "step", integer: true, points: diff, from: f1, to: t1, label: "Difficulty" + lbl, empty: "No challenge in this period." });
      [f1, t1] = span(times);
      chart(charts.time, { kind: "dots", points: times, from: f1, to: t1, min: 0, fmt: (v) => fmtSecs(v), tickFmt: (v) => fmtNum(v, v % 1 ? 1 : 0) + " s", label: "Solve time" + lbl, empty: "No challenge in this period." });
      [f1, t1] = span(sc);
      chart(charts.score, { kind: "line", points: sc, from: f1, to: t1, min: 0, fmt: (v) => fmtNum(v, 3), tickFmt: (v) => fmtNum(v, 1), label: "Score" + lbl, empty: "No score in this period." });
      nows.difficulty.textContent = diff.length ? "now " + fmtNum(diff[diff.length - 1].v, 0) : "";
      const okT = times.filter((p) => p.ok);
      nows.time.textContent = times.length ? okT.length + " of " + times.length + " solved" + (okT.length ? " · median " + fmtSecs(median(okT.map((p) => p.v))) : "") : "";
      nows.score.textContent = sc.length ? "now " + fmtNum(sc[sc.length - 1].v, 3) : "";
    }

    async function loadHistory() {
      try {
        hist = await api("/v1/miners/" + encodeURIComponent(hotkey) + "/history?hours=" + minerState.hours, { signal: pg.signal });
        if (pg.dead) return;
        renderCharts();
        updatedNote(note, true);
      } catch (e) {
        if (pg.dead || (e && e.name === "AbortError")) return;
        if (isAuthError(e)) { pg.stop(); needKey(root, e, route); return; }
        if (!hist) for (const c of Object.values(charts)) clear(c).append(problemBox(e, "History"));
        else updatedNote(note, e.message);
      }
    }

    async function load(first) {
      try {
        miner = await api("/v1/miners/" + encodeURIComponent(hotkey), { signal: pg.signal });
        if (pg.dead) return;
        clear(problem);
        renderMiner();
        document.title = "Miner " + miner.uid + " · Compute subnet";
      } catch (e) {
        if (pg.dead || (e && e.name === "AbortError")) return;
        if (isAuthError(e)) { pg.stop(); needKey(root, e, route); return; }
        if (first) {
          clear(head).append(h("div", { class: "page-head" }, h("h1", {}, "Miner " + shortKey(hotkey))));
          clear(problem).append(problemBox(e, e.status === 404 ? "No such miner" : "Miner"));
        }
        return;
      }
      await loadHistory();
    }

    let lastW = 0;
    pg.on(window, "resize", () => {
      const w = charts.score.clientWidth;
      if (w !== lastW) { lastW = w; renderCharts(); }
    });
    pg.every(REFRESH_MS, () => load(false));
    return load(true).then(() => { lastW = charts.score.clientWidth; });
  }

  function median(a) {
    const b = a.slice().sort((x, y) => x - y);
    const i = Math.floor(b.length / 2);
    return b.length % 2 ? b[i] : (b[i - 1] + b[i]) / 2;
  }

  // ---- validator

  function validatorPage(pg, root) {
    const cards = h("div", { class: "cards" });
    const problem = h("div");
    const note = h("span", { class: "muted" });
    const roundsChart = h("div", { class: "chart-body", id: "chart-rounds" });
    const roundsBody = h("tbody", { id: "rounds-body" });
    const weightsBody = h("tbody", { id: "weights-body" });
    const open = new Set(); // weights rows whose uid list is open, kept across refreshes

    root.append(
      h("div", { class: "page-head" }, h("h1", {}, "Validator"), h("span", { class: "grow" }), note),
      problem, cards,
      h("section", { class: "section", "aria-labelledby": "rounds-h" },
        h("h2", { id: "rounds-h" }, "Challenge rounds"),
        h("div", { class: "panel chart" },
          h("div", { class: "chart-head" }, h("h3", {}, "Successes per round"), h("div", { class: "legend" }, h("span", {}, "solved"), h("span", { class: "l-muted" }, "sent"))),
          roundsChart),
        h("div", { class: "panel table-scroll section-tight" }, h("table", { id: "rounds" },
          h("thead", {}, h("tr", {}, ["Round", "Block", "Time", "Challenges", "Solved", "Rate"].map((t, i) => h("th", { scope: "col", class: i === 2 ? null : "num" }, t)))),
          roundsBody))),
      h("section", { class: "section", "aria-labelledby": "weights-h" },
        h("h2", { id: "weights-h" }, "Weights"),
        h("div", { class: "panel table-scroll" }, h("table", { id: "weights" },
          h("thead", {}, h("tr", {}, ["ID", "Block", "Mode", "Status", "Reveal round", "Reveal block", "Revealed at", "Submitted", "Weights"].map((t, i) => h("th", { scope: "col", class: [0, 1, 4, 5, 6].includes(i) ? "num" : null }, t)))),
          weightsBody))));

    function renderRounds(rounds) {
      clear(roundsBody);
      for (const r of rounds) {
        roundsBody.append(h("tr", {},
          h("td", { class: "num" }, String(r.id)),
          h("td", { class: "num" }, intFmt.format(r.block)),
          h("td", {}, timeEl(r.time)),
          h("td", { class: "num" }, String(r.challenges)),
          h("td", { class: "num" }, String(r.successes)),
          h("td", { class: "num" }, r.challenges ? fmtPct(r.successes / r.challenges, 0) : "—")));
      }
      if (!rounds.length) roundsBody.append(h("tr", {}, h("td", { class: "empty", colspan: 6 }, "No round yet.")));
      const pts = rounds.slice().reverse().map((r) => ({ label: "#" + r.id, total: r.challenges || 0, ok: r.successes || 0, title: "Round " + r.id + " (block " + r.block + "): " + r.successes + " of " + r.challenges + " solved" }));
      chart(roundsChart, { kind: "bars", points: pts, height: 160, label: "Challenges solved per round, oldest first", empty: "No round yet." });
    }

    function weightsCell(w) {
      const uids = Array.isArray(w.uids) ? w.uids : [];
      const ws = Array.isArray(w.weights) ? w.weights : [];
      const sum = ws.reduce((a, b) => a + b, 0) || 1;
      const d = h("details", { class: "w", props: { open: open.has(w.id) }, ontoggle: (ev) => { if (ev.currentTarget.open) open.add(w.id); else open.delete(w.id); } },
        h("summary", {}, uids.length + (uids.length === 1 ? " uid" : " uids")),
        h("div", { class: "wlist" }, uids.map((u, i) => h("span", {}, "uid " + u + ": " + fmtPct((ws[i] || 0) / sum)))));
      return h("td", { class: "wcell" }, d);
    }

    function renderWeights(list) {
      clear(weightsBody);
      for (const w of list) {
        weightsBody.append(h("tr", {},
          h("td", { class: "num" }, String(w.id)),
          h("td", { class: "num" }, intFmt.format(w.block)),
          h("td", {}, w.mode === "commit" ? "commit-reveal" : w.mode),
          h("td", {}, statusBadge(w.status)),
          h("td", { class: "num" }, w.reveal_round ? intFmt.format(w.reveal_round) : "—"),
          h("td", { class: "num" }, w.reveal_block ? intFmt.format(w.reveal_block) : "—"),
          h("td", { class: "num" }, w.revealed_block ? intFmt.format(w.revealed_block) : "—"),
          h("td", {}, timeEl(w.created_at)),
          weightsCell(w)));
      }
      if (!list.length) weightsBody.append(h("tr", {}, h("td", { class: "empty", colspan: 9 }, "No weights set yet.")));
    }

    function renderCards(st, weights) {
      const last = weights[0];
      const c = (label, value, sub, cls) => h("div", { class: "panel card " + (cls || "") }, h("div", { class: "label" }, label), h("div", { class: "value " + (cls === "wide" ? "small" : "") }, value), sub ? h("div", { class: "note" }, sub) : null);
      clear(cards).append(
        c("Validator hotkey", h("span", { class: "mono", title: st.validator_hotkey }, st.validator_hotkey || "—"), null, "wide"),
        c("Block", intFmt.format(st.block), "netuid " + st.netuid),
        c("Version", st.version || "—"),
        c("Last weights", last ? statusBadge(last.status) : "—", last ? "block " + intFmt.format(last.block) + " · " + fmtRel(last.created_at) : null));
    }

    async function load(first) {
      try {
        const [st, rounds, weights] = await Promise.all([
          api("/v1/status", { signal: pg.signal }),
          api("/v1/rounds?limit=50", { signal: pg.signal }),
          api("/v1/weights?limit=50", { signal: pg.signal }),
        ]);
        if (pg.dead) return;
        const rl = Array.isArray(rounds.rounds) ? rounds.rounds : [];
        const wl = Array.isArray(weights.weights) ? weights.weights : [];
        clear(problem);
        setFooter(st);
        renderCards(st, wl);
        renderRounds(rl);
        renderWeights(wl);
        updatedNote(note, true);
      } catch (e) {
        if (pg.dead || (e && e.name === "AbortError")) return;
        if (isAuthError(e)) { pg.stop(); needKey(root, e, route); return; }
        if (first) clear(problem).append(problemBox(e, "Validator"));
        else updatedNote(note, e.message);
      }
    }
    pg.every(REFRESH_MS, () => load(false));
    return load(true);
  }

  // ---- rentals

  const rentalState = { days: {}, showEnded: true };

  function resourceText(r) {
    const x = r && r.resource;
    if (!x || typeof x !== "object") return "";
    const parts = [];
    if (x.cpu && x.cpu.count) parts.push(x.cpu.count + " CPU");
    if (x.gpu && x.gpu.count) parts.push(x.gpu.count + " × " + shortModel(x.gpu.type || "GPU") + (x.gpu.capacity ? " (" + fmtBytes(x.gpu.capacity * 1024 * 1024) + ")" : ""));
    if (x.ram && x.ram.capacity) parts.push(fmtBytes(x.ram.capacity) + " RAM");
    if (x.hard_disk && x.hard_disk.capacity) parts.push(fmtBytes(x.hard_disk.capacity) + " disk");
    return parts.join(" · ");
  }

  function rentalsPage(pg, root) {
    const keyBox = h("div", { class: "panel pad" });
    const problem = h("div");
    const list = h("div", { class: "rentals", id: "rentals" });
    const note = h("span", { class: "muted" });
    const ended = h("input", { type: "checkbox", id: "show-ended", props: { checked: rentalState.showEnded } });
    let rentals = null;
    let busy = 0; // actions in flight: the refresh waits for them

    root.append(
      h("div", { class: "page-head" }, h("h1", {}, "Rentals"), h("span", { class: "grow" }), note),
      keyBox, problem,
      h("section", { class: "section", "aria-labelledby": "rentals-h" },
        h("div", { class: "section-head" }, h("h2", { id: "rentals-h" }, "Your rentals"), h("span", { class: "grow" }),
          h("label", { class: "check" }, ended, "Show ended")),
        list));

    ended.addEventListener("change", () => { rentalState.showEnded = ended.checked; render(); });

    function renderKey() {
      clear(keyBox).append(currentKey() ? keySet(route) : keyForm(route, { label: "API key" }));
    }

    function rentalCard(r) {
      const live = r.status === "active" || r.status === "unhealthy";
      const result = h("div", { class: "result", "aria-live": "polite" });
      const hl = r.health || {};
      const act = async (btn, what, fn) => {
        clear(result);
        busy++;
        const all = card.querySelectorAll(".actions button, .actions input");
        all.forEach((b) => { b.disabled = true; });
        try {
          const updated = await fn();
          if (updated && updated.id) {
            const i = rentals.findIndex((x) => x.id === updated.id);
            if (i >= 0) rentals[i] = updated;
          }
          const fresh = rentalCard(updated && updated.id ? updated : r);
          card.replaceWith(fresh);
          $(".result", fresh).append(h("span", { class: "done" }, what));
        } catch (e) {
          all.forEach((b) => { b.disabled = false; });
          if (e && e.name === "AbortError") return;
          result.append(problemBox(e, "Could not " + btn));
        } finally {
          busy--;
        }
      };
      const path = "/v1/rentals/" + encodeURIComponent(r.id);
      const daysId = "days-" + r.id;
      const days = h("input", { type: "number", id: daysId, min: 1, max: 365, step: 1, props: { value: rentalState.days[r.id] || 1 }, oninput: (ev) => { rentalState.days[r.id] = ev.currentTarget.value; } });
      let armTimer = null;
      const release = h("button", { type: "button", class: "danger", "data-action": "release", onclick: (ev) => {
        const b = ev.currentTarget;
        if (!b.classList.contains("armed")) {
          b.classList.add("armed");
          b.textContent = "Confirm release";
          armTimer = setTimeout(() => { b.classList.remove("armed"); b.textContent = "Release"; }, 5000);
          return;
        }
        clearTimeout(armTimer);
        act("release", "Released.", () => api(path, { method: "DELETE", signal: pg.signal }));
      } }, "Release");

      const card = h("article", { class: "panel rental" + (live ? "" : " ended"), "data-id": r.id, "aria-labelledby": "rt-" + r.id },
        h("div", { class: "rental-head" },
          h("span", { class: "id", id: "rt-" + r.id }, r.id),
          statusBadge(r.status, r.status === "unhealthy" ? "The health check failed " + (hl.misses || 0) + " times in a row" : null),
          h("span", { class: "grow" }),
          h("a", { href: "#/miner/" + encodeURIComponent(r.hotkey), title: r.hotkey }, "uid " + r.uid + " · ", h("span", { class: "hk" }, shortKey(r.hotkey)))),
        h("div", { class: "what" }, resourceText(r)),
        r.ssh_command && live ? h("div", { class: "sshbox" }, h("code", {}, r.ssh_command), copyButton(r.ssh_command, "Copy the SSH command")) : null,
        h("dl", { class: "facts" },
          h("dt", {}, "Created"), h("dd", {}, timeEl(r.created_at)),
          h("dt", {}, r.status === "expired" || parseTime(r.expires_at) < Date.now() ? "Expired" : "Expires"), h("dd", { class: "expires" }, timeEl(r.expires_at)),
          h("dt", {}, "Health"), h("dd", {},
            live ? (hl.misses ? hl.misses + " missed checks" : "answering") : "—",
            parseTime(hl.checked_at) ? h("span", { class: "muted" }, "checked ", timeEl(hl.checked_at)) : null),
          r.released_at ? [h("dt", {}, "Released"), h("dd", {}, timeEl(r.released_at))] : [h("dt", {}, "Host"), h("dd", {}, h("code", {}, (r.username ? r.username + "@" : "") + r.host + ":" + r.port))],
          hl.last_error ? [h("dt", {}, "Last error"), h("dd", { class: "err" }, hl.last_error)] : null),
        Array.isArray(r.ssh_keys) && r.ssh_keys.length ? h("details", { class: "raw section-tight" },
          h("summary", {}, r.ssh_keys.length + (r.ssh_keys.length === 1 ? " SSH key" : " SSH keys")),
          h("ul", { class: "keys" }, r.ssh_keys.map((k) => h("li", {}, h("code", {}, k.fingerprint), " ", h("span", { class: "muted" }, (k.key || "").split(/\s+/).slice(2).join(" ")))))) : null,
        live ? h("div", { class: "actions" },
          h("form", { class: "extend", onsubmit: (ev) => {
            ev.preventDefault();
            const n = parseInt(days.value, 10);
            if (!(n >= 1)) { days.focus(); return; }
            act("extend", "Extended by " + n + (n === 1 ? " day." : " days."), () => api(path + "/extend", { method: "POST", body: { days: n }, signal: pg.signal }));
          } },
          h("label", { for: daysId }, "Days"), days, h("button", { type: "submit", "data-action": "extend" }, "Extend")),
          h("button", { type: "button", "data-action": "restart", onclick: () => act("restart", "Restarting.", () => api(path + "/restart", { method: "POST", signal: pg.signal })) }, "Restart"),
          h("span", { class: "grow" }),
          release) : null,
        result);
      return card;
    }

    function render() {
      clear(list);
      if (!rentals) return;
      const order = { unhealthy: 0, active: 1, released: 2, expired: 3 };
      const shown = rentals.filter((r) => rentalState.showEnded || r.status === "active" || r.status === "unhealthy")
        .sort((a, b) => (order[a.status] ?? 4) - (order[b.status] ?? 4) || (parseTime(b.created_at) || 0) - (parseTime(a.created_at) || 0));
      for (const r of shown) list.append(rentalCard(r));
      if (!shown.length) list.append(h("p", { class: "panel pad muted" }, rentals.length ? "No live rental; tick Show ended to see the others." : "This key has no rental yet. Rent through POST /v1/rentals or compute allocate."));
    }

    async function load(first) {
      renderKey();
      if (!currentKey()) {
        clear(list).append(h("p", { class: "panel pad muted" }, "Paste an API key with the rent scope to see its rentals."));
        return;
      }
      if (!first && (busy || list.contains(document.activeElement))) return; // do not pull the rug from under a click
      try {
        const doc = await api("/v1/rentals", { signal: pg.signal });
        if (pg.dead) return;
        rentals = Array.isArray(doc.rentals) ? doc.rentals : [];
        clear(problem);
        render();
        updatedNote(note, true, REFRESH_MS * 3);
      } catch (e) {
        if (pg.dead || (e && e.name === "AbortError")) return;
        if (isAuthError(e)) {
          rentals = null;
          clear(list);
          clear(problem).append(h("div", { class: "notice needkey" },
            h("h2", {}, e.status === 403 ? "This key may not rent" : "The API refused this key"),
            problemBox(e)));
          return;
        }
        if (first || !rentals) clear(problem).append(problemBox(e, "Rentals"));
        else updatedNote(note, e.message);
      }
    }
    pg.every(REFRESH_MS * 3, () => load(false));
    return load(true);
  }

  function notFound(pg, root) {
    root.append(h("div", { class: "notice" }, h("h2", {}, "No such page"), h("p", {}, h("a", { href: "#/" }, "Back to the overview"))));
    return Promise.resolve();
  }

  // ---------------------------------------------------------------- router

  function route() {
    if (page) page.stop();
    page = new Page();
    const root = clear(main());
    const hash = location.hash || "#/";
    let name = "overview", run;
    let m;
    if (hash === "#/" || hash === "#" || hash === "") {
      run = (pg) => overview(pg, root);
      document.title = "Miners · Compute subnet";
    } else if ((m = /^#\/miner\/([^/?#]+)$/.exec(hash))) {
      let hk;
      try { hk = decodeURIComponent(m[1]); } catch (e) { hk = m[1]; }
      name = "overview";
      run = (pg) => minerPage(pg, root, hk);
      document.title = "Miner · Compute subnet";
    } else if (hash === "#/validator") {
      name = "validator";
      run = (pg) => validatorPage(pg, root);
      document.title = "Validator · Compute subnet";
    } else if (hash === "#/rentals") {
      name = "rentals";
      run = (pg) => rentalsPage(pg, root);
      document.title = "Rentals · Compute subnet";
    } else {
      name = "";
      run = (pg) => notFound(pg, root);
    }
    document.querySelectorAll(".nav a").forEach((a) => {
      if (a.dataset.nav === name) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    });
    const pg = page;
    root.setAttribute("aria-busy", "true");
    Promise.resolve(run(pg)).finally(() => {
      if (!pg.dead) {
        root.removeAttribute("aria-busy");
        root.dataset.ready = "true";
      }
    });
  }

  function start() {
    memKey = getKey();
    updateKeyButton();
    const btn = $("#keybtn");
    const panel = $("#keypanel");
    btn.addEventListener("click", () => {
      const open = panel.hidden;
      panel.hidden = !open;
      btn.setAttribute("aria-expanded", String(open));
      if (open) {
        renderKeyPanel();
        const inp = $("input", panel);
        if (inp) inp.focus();
      }
    });
    window.addEventListener("hashchange", () => {
      route();
      main().focus({ preventScroll: true });
      window.scrollTo(0, 0);
    });
    route();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
