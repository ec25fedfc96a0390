// The search page: talks to the same server's JSON API; no external scripts, fonts or styles.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const form = $("search"), box = $("q"), results = $("results"), status = $("status"), warningsList = $("warnings");
  const LANG_NAMES = typeof Intl !== "undefined" && Intl.DisplayNames ? new Intl.DisplayNames(["en"], { type: "language" }) : null;
  let token = sessionStorage.getItem("xlqe-token") || "";
  let seq = 0, timer = 0;

  async function api(path) {
    const headers = token ? { Authorization: "Bearer " + token } : {};
    const res = await fetch(path, { headers });
    const body = await res.json().catch(() => ({ message: res.statusText }));
    if (res.status === 401) { $("token-box").hidden = false; $("token").focus(); }
    if (!res.ok) throw new Error(body.message || ("HTTP " + res.status));
    return body;
  }

  function langName(code) {
    if (!code) return "unknown language";
    try { return (LANG_NAMES && LANG_NAMES.of(code)) || code; } catch (e) { return code; }
  }

  async function loadLanguages() {
    try {
      const stats = await api("/stats");
      const select = $("lang");
      for (const [code, n] of Object.entries(stats.languages)) {
        const opt = document.createElement("option");
        opt.value = code; opt.textContent = `${langName(code)} (${n})`;
        select.appendChild(opt);
      }
      if (!stats.llm) { $("expand").disabled = true; $("expand").parentElement.title = "expansion is off on this server"; }
    } catch (e) { status.textContent = e.message; }
  }

  // Highlights are [start, end) ranges in code points: index an array of code points, not UTF-16 units.
  function highlighted(text, ranges) {
    const frag = document.createDocumentFragment();
    const chars = Array.from(text || "");
    let last = 0;
    for (const [a, b] of [...ranges].sort((x, y) => x[0] - y[0])) {
      if (a < last) continue;
      frag.append(chars.slice(last, a).join(""));
      const m = document.createElement("mark");
      m.textContent = chars.slice(a, b).join("");
      frag.append(m);
      last = b;
    }
    frag.append(chars.slice(last).join(""));
    return frag;
  }

  function why(e, hit) {
    const d = document.createElement("details");
    const s = document.createElement("summary");
    s.textContent = "Why this hit";
    d.append(s);
    const ul = document.createElement("ul");
    const add = (text) => { const li = document.createElement("li"); li.dir = "auto"; li.textContent = text; ul.append(li); };
    for (const [name, src] of Object.entries(e || {})) {
      if (!(name.startsWith("bm25") || name === "dense")) continue;
      const what = name === "dense" ? "meaning (dense vectors)" : name === "bm25" ? "words (BM25)" :
        `words of the query's translation into ${langName(name.slice(5, -1))}`;
      add(src ? `${what}: rank ${src.rank}, score ${Number(src.score).toFixed(3)}, weight ${Number(src.weight).toPrecision(2)}`
              : `${what}: not in this list`);
    }
    const exp = (e && e.expansions) || {};
    for (const item of exp[hit.lang] || []) add(`${item.used ? "used" : "dropped"} translation: ${item.text}`);
    if (e && e.query_lang !== undefined) add(`query read as ${langName(e.query_lang)}` + (e.method ? `, lists fused by ${e.method}` : ""));
    d.append(ul);
    return d;
  }

  function render(data) {
    results.replaceChildren();
    warningsList.replaceChildren();
    for (const w of data.warnings) { const li = document.createElement("li"); li.textContent = w; warningsList.append(li); }
    const n = data.hits.length;
    status.textContent = `${n} ${n === 1 ? "hit" : "hits"} in ${Math.round(data.took_ms)} ms · query read as ${langName(data.query.lang)} · ${data.query.mode}`;
    for (const hit of data.hits) {
      const li = document.createElement("li");
      const art = document.createElement("article");
      art.className = "hit"; art.tabIndex = 0; art.dir = "auto";
      if (hit.lang) art.lang = hit.lang;
      const h = document.createElement("h2");
      h.dir = "auto"; h.textContent = hit.title || hit.id;
      const meta = document.createElement("div");
      meta.className = "meta";
      const badge = document.createElement("span");
      badge.className = "badge"; badge.textContent = hit.lang || "?"; badge.title = langName(hit.lang);
      meta.append(badge);
      const bits = [];
      if (hit.format) bits.push(hit.format);
      if (hit.passage && hit.passage.page != null) bits.push(`page ${hit.passage.page}`);
      if (hit.path) bits.push(hit.path); else if (hit.title) bits.push(hit.id);
      for (const b of bits) { const s = document.createElement("span"); s.dir = "auto"; s.textContent = b; meta.append(s); }
      const p = document.createElement("p");
      p.className = "snippet"; p.dir = "auto";
      p.append(highlighted(hit.snippet || "", hit.highlights || []));
      art.append(h, meta, p, why(hit.explanation, hit));
      li.append(art);
      results.append(li);
    }
  }

  async function run() {
    const q = box.value.trim();
    if (!q) { results.replaceChildren(); status.textContent = ""; warningsList.replaceChildren(); return; }
    const params = new URLSearchParams({ q, k: "10", explain: "1" });
    for (const name of ["lang", "format", "mode"]) if ($(name).value) params.set(name, $(name).value);
    if ($("expand").checked) params.set("expand", "auto");
    const mine = ++seq;
    status.textContent = "searching…";
    try {
      const data = await api("/search?" + params);
      if (mine === seq) render(data);
    } catch (e) {
      if (mine === seq) { results.replaceChildren(); status.textContent = e.message; }
    }
  }

  form.addEventListener("submit", (ev) => { ev.preventDefault(); clearTimeout(timer); run(); });
  box.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(run, 300); });
  for (const name of ["lang", "format", "mode", "expand"]) $(name).addEventListener("change", run);
  $("token-save").addEventListener("click", () => {
    token = $("token").value.trim(); sessionStorage.setItem("xlqe-token", token);
    $("token-box").hidden = true; loadLanguages(); run();
  });

  const hits = () => Array.from(results.querySelectorAll(".hit"));
  document.addEventListener("keydown", (ev) => {
    const inBox = document.activeElement === box;
    const typing = ["INPUT", "SELECT", "TEXTAREA"].includes(document.activeElement && document.activeElement.tagName);
    if (ev.key === "/" && !typing) { ev.preventDefault(); box.focus(); box.select(); return; }
    if (ev.key === "Escape") { box.focus(); return; }
    const list = hits(), at = list.indexOf(document.activeElement);
    const down = ev.key === "ArrowDown" || (!typing && ev.key === "j");
    const up = ev.key === "ArrowUp" || (!typing && ev.key === "k");
    if (down && (inBox || at >= 0) && list.length) { ev.preventDefault(); list[Math.min(at + 1, list.length - 1)].focus(); }
    else if (up && at >= 0) { ev.preventDefault(); (at === 0 ? box : list[at - 1]).focus(); }
    else if (ev.key === "Enter" && at >= 0) { ev.preventDefault(); const d = list[at].querySelector("details"); d.open = !d.open; }
  });

  loadLanguages();
})();
