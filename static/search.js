/* The search page LANG/search/: runs ?q= on load and as the reader types.
 *
 * The index is the one kakehashi/search.py writes into LANG/search/data/: a small manifest,
 * postings sharded by token (a query fetches only its tokens' shards) and each section's
 * passages (fetched only for the results shown). The tokenizer below follows
 * kakehashi/search_tokens.py rule for rule; a browser test keeps the two in agreement.
 */
(function () {
  "use strict";

  // --- The tokenizer: the same as kakehashi/search_tokens.py ---------------------------------
  const CJK_CHARS = "\u3005-\u3007\u303b\u3041-\u3096\u309d-\u309f\u30a1-\u30fa\u30fc-\u30ff" +
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u{20000}-\u{3134f}";
  const CJK = new RegExp("^[" + CJK_CHARS + "]$", "u");
  const LETTER = /^[\p{L}\p{N}]$/u;
  const MARK = /^[\p{Mn}\uff9e\uff9f]$/u;  // joins the character before it (ｶﾞ is one)
  const HYPHENS = "-\u2010\u2011";
  const APOSTROPHES = "'\u2019";

  const isCjk = (c) => CJK.test(c);
  const startsCjk = (token) => isCjk(Array.from(token)[0] || "");
  const length = (token) => Array.from(token).length;
  const isWord = (c) => LETTER.test(c) && !CJK.test(c);

  /* The text's characters, NFKC-normalised and lower-cased, each with the span of the
     original text it came from (one original character may give several, ㍿ → 株式会社). */
  function characters(text) {
    const points = Array.from(text);
    const out = [];
    let offset = 0;
    for (let i = 0; i < points.length;) {
      let cluster = points[i++];
      while (i < points.length && MARK.test(points[i])) cluster += points[i++];
      const start = offset;
      offset += cluster.length;
      for (const c of Array.from(cluster.normalize("NFKC").toLowerCase())) {
        out.push({c, start, end: offset});
      }
    }
    return out;
  }

  function stem(word) {
    const ends = (...endings) => endings.some((e) => word.endsWith(e));
    if (word.length > 4 && word.endsWith("ies")) return word.slice(0, -3) + "y";
    if (word.length > 4 && ends("sses", "xes", "zes", "ches", "shes")) return word.slice(0, -2);
    if (word.length > 3 && word.endsWith("s") && !ends("ss", "us", "is")) return word.slice(0, -1);
    return word;
  }

  /* Tokens {text, position, joined, start, end, end1}: start/end in the original text,
     end1 the end of the token's first character (for marking a one-character match). */
  function tokenize(text) {
    const chars = characters(text);
    const tokens = [];
    let position = 0;
    for (let i = 0; i < chars.length;) {
      if (isCjk(chars[i].c)) {
        let j = i;
        while (j < chars.length && isCjk(chars[j].c)) j++;
        for (let k = i; k < j; k++) {
          const last = Math.min(k + 1, j - 1);
          tokens.push({text: chars[k].c + (k + 1 < j ? chars[k + 1].c : ""), position: position++,
                       joined: false, start: chars[k].start, end: chars[last].end, end1: chars[k].end});
        }
        i = j;
      } else if (isWord(chars[i].c)) {
        let j = i;
        for (;;) {  // words joined by hyphens or apostrophes, as the Python regex takes them
          while (j < chars.length && isWord(chars[j].c)) j++;
          const joiner = j < chars.length && (HYPHENS + APOSTROPHES).includes(chars[j].c);
          if (!joiner || j + 1 >= chars.length || !isWord(chars[j + 1].c)) break;
          j++;
        }
        let run = chars.slice(i, j);
        const n = run.length;
        if (n > 2 && run[n - 1].c === "s" && APOSTROPHES.includes(run[n - 2].c)) run = run.slice(0, -2);
        const parts = [[]];
        for (const ch of run) {
          if (HYPHENS.includes(ch.c)) parts.push([]);
          else if (!APOSTROPHES.includes(ch.c)) parts[parts.length - 1].push(ch);
        }
        const words = parts.filter((part) => part.length);
        for (const part of words) {
          tokens.push({text: stem(part.map((ch) => ch.c).join("")), position: position++, joined: false,
                       start: part[0].start, end: part[part.length - 1].end, end1: part[part.length - 1].end});
        }
        if (words.length > 1) {
          const last = words[words.length - 1];
          tokens.push({text: stem(words.flat().map((ch) => ch.c).join("")), position: position - words.length,
                       joined: true, start: words[0][0].start, end: last[last.length - 1].end,
                       end1: last[last.length - 1].end});
        }
        i = j;
      } else {
        i++;
      }
    }
    return tokens;
  }

  function shardKey(token) {
    const points = Array.from(token);
    return points.slice(0, isCjk(points[0]) ? 1 : 2);
  }

  function shardOf(token, shards) {
    let value = 0x811c9dc5;
    for (const c of shardKey(token)) value = Math.imul(value ^ c.codePointAt(0), 0x01000193) >>> 0;
    return value % shards;
  }

  // --- Queries -------------------------------------------------------------------------------

  /* What a query asks for: groups of tokens (one per word the reader typed, split at spaces),
     each token at its place in the group; all groups must match one passage. A lone CJK
     character (a run's last) matches every bigram it starts; the query's last word, as it
     is being typed, every word it starts. */
  function parseQuery(query) {
    const words = query.split(/\s+/u).filter(Boolean);
    const requirements = (tokens) => tokens.filter((t) => !t.joined).flatMap((t, i, all) => {
      const single = startsCjk(t.text) && length(t.text) === 1;
      const previous = all[i - 1];
      if (single && previous && previous.position === t.position - 1 && startsCjk(previous.text) &&
          length(previous.text) === 2) return [];  // its bigram already covers it
      return [{text: t.text, at: t.position, prefix: single}];
    });
    const groups = words.map((word) => requirements(tokenize(word))).filter((g) => g.length);
    const whole = requirements(tokenize(words.join(" ")));
    if (whole.length) {
      const last = whole[whole.length - 1];
      if (!startsCjk(last.text) && length(last.text) > 1) last.prefix = true;
      const lastGroup = groups[groups.length - 1];
      lastGroup[lastGroup.length - 1].prefix = last.prefix;
    }
    return {groups, whole};
  }

  /* Positions of a requirement's tokens in the shards it needs: document -> Set of positions. */
  function postings(requirement, shards) {
    const found = new Map();
    for (const shard of shards) {
      const tokens = requirement.prefix ? Object.keys(shard).filter((t) => t.startsWith(requirement.text))
        : (requirement.text in shard ? [requirement.text] : []);
      for (const token of tokens) {
        for (const entry of shard[token].split(";")) {  // "doc:position,position"
          const [doc, positions] = entry.split(":");
          const set = found.get(+doc) || new Set();
          positions.split(",").forEach((p) => set.add(+p));
          found.set(+doc, set);
        }
      }
    }
    return found;
  }

  /* The files a requirement's tokens are in: its hashed shard, or, when its key was split
     into ranges of sorted tokens, the ranges it falls in (a lone key: its summary file). */
  function filesOf(requirement, manifest) {
    const key = shardKey(requirement.text).join("");
    const split = manifest.split[key];
    if (!split) return ["t" + shardOf(requirement.text, manifest.shards) + ".json"];
    if (requirement.prefix && requirement.text === key) return ["r" + split.all + ".json"];
    const range = (token) => {
      let i = 0;
      while (i + 1 < split.starts.length && split.starts[i + 1] <= token) i++;
      return i;
    };
    const first = range(requirement.text);
    const last = requirement.prefix ? range(requirement.text + "\uffff") : first;
    const names = [];
    for (let i = first; i <= last; i++) names.push("r" + (split.file + i) + ".json");
    return names;
  }

  /* Where in one document the requirements stand side by side: their first positions. */
  function matches(requirements, lists, doc) {
    const sets = lists.map((list) => list.get(doc));
    if (sets.some((set) => !set)) return [];
    const first = requirements[0].at;
    return [...sets[0]].filter((base) => requirements.every(
      (r, i) => sets[i].has(base + r.at - first))).sort((a, b) => a - b);
  }

  const LAYER = 2 ** 20;  // kakehashi/search.py's LAYER_BITS: body text 0, headings 1, title 2
  const layer = (position) => Math.floor(position / LAYER);

  // --- The page ------------------------------------------------------------------------------

  window.KakehashiSearch = {tokenize, shardOf, filesOf, parseQuery};
  const PAGE_SIZE = 10;
  const root = document.querySelector("[data-search]");
  if (!root) return;
  const strings = JSON.parse(document.getElementById("search-strings").textContent);
  const data = new URL(root.dataset.index, location.href);
  const siteRoot = new URL(root.dataset.root, location.href);
  const form = document.querySelector("[data-search-form]");
  const input = form.querySelector("input[name=q]");
  const status = root.querySelector("[data-search-status]");
  const list = root.querySelector("[data-search-results]");
  const more = root.querySelector("[data-search-more]");
  const files = new Map();
  let latest = 0;
  let shown = [];

  function load(name) {
    if (!files.has(name)) {
      files.set(name, fetch(new URL(name, data)).then((response) => {
        if (!response.ok) throw new Error(response.status + " " + name);
        return response.json();
      }));
      files.get(name).catch(() => files.delete(name));
    }
    return files.get(name);
  }

  async function rank(query) {
    const manifest = await load("manifest.json");
    const {groups, whole} = parseQuery(query);
    if (!groups.length) return {results: [], query: {groups, whole}, manifest};
    const shardsOf = (r) => Promise.all(filesOf(r, manifest).map(load));
    const lookup = async (reqs) => Promise.all(reqs.map(async (r) => postings(r, await shardsOf(r))));
    const groupLists = await Promise.all(groups.map(lookup));
    const wholeLists = await lookup(whole);
    const results = [];
    for (const doc of groupLists[0][0].keys()) {
      const hits = groups.map((group, i) => matches(group, groupLists[i], doc));
      if (hits.some((h) => h.length === 0)) continue;
      const phrase = groups.length > 1 ? matches(whole, wholeLists, doc) : hits[0];
      const places = phrase.length ? phrase : hits[0];
      const best = places.reduce((a, b) => layer(b) > layer(a) ? b : a);  // the first highest
      const total = phrase.length || hits.reduce((n, h) => n + h.length, 0);
      // phrase, then title/heading/text, then sections before sources, then how often
      results.push({doc, position: best,
                    score: [phrase.length ? 1 : 0, layer(best), doc < manifest.sections ? 1 : 0, total, -doc]});
    }
    results.sort((a, b) => compare(b.score, a.score));
    return {results, query: {groups, whole}, manifest};
  }

  function compare(a, b) {
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] - b[i];
    return 0;
  }

  async function record(manifest, doc) {
    if (doc < manifest.sections) return load("s" + doc + ".json");
    const source = doc - manifest.sections;
    return (await load("b" + Math.floor(source / manifest.sourceChunk) + ".json"))[source % manifest.sourceChunk];
  }

  /* Where each group of the query stands in a passage's tokens: spans of the original text. */
  function spans(tokens, groups) {
    const at = new Map();
    for (const t of tokens) at.set(t.position, (at.get(t.position) || []).concat([t]));
    const hit = (r, p) => (at.get(p) || []).find((t) => r.prefix ? t.text.startsWith(r.text) : t.text === r.text);
    const found = [];
    for (const group of groups) {
      for (const base of at.keys()) {
        const tokensThere = group.map((r) => hit(r, base + r.at - group[0].at));
        if (tokensThere.every(Boolean)) {
          tokensThere.forEach((t, i) => found.push(
            [t.start, group[i].prefix && startsCjk(group[i].text) ? t.end1 : t.end]));
        }
      }
    }
    return found.sort((a, b) => a[0] - b[0]);
  }

  /* The passage's text around its first match, matches in <mark>. */
  function snippet(text, query) {
    const merged = [];
    const tokens = tokenize(text);
    const phrase = query.groups.length > 1 ? spans(tokens, [query.whole]) : [];
    for (const span of phrase.length ? phrase : spans(tokens, query.groups)) {
      const last = merged[merged.length - 1];
      if (last && span[0] <= last[1]) last[1] = Math.max(last[1], span[1]);
      else merged.push([...span]);
    }
    const from = merged.length ? Math.max(0, merged[0][0] - 50) : 0;
    const to = Math.min(text.length, from + 200);
    const paragraph = document.createElement("p");
    paragraph.className = "search-snippet";
    let cursor = from;
    if (from > 0) paragraph.append("…");
    for (const [start, end] of merged) {
      if (start >= to) break;
      if (end <= cursor) continue;
      paragraph.append(text.slice(cursor, Math.max(cursor, start)));
      const mark = document.createElement("mark");
      mark.textContent = text.slice(Math.max(cursor, start), Math.min(end, to));
      paragraph.append(mark);
      cursor = Math.min(end, to);
    }
    paragraph.append(text.slice(cursor, to) + (to < text.length ? "…" : ""));
    return paragraph;
  }

  /* The passage a position is in: the last of its layer that starts at or before it. */
  function passageAt(passages, position) {
    let found = 0;
    passages.forEach(([, , , start], i) => {
      if (layer(start) === layer(position) && start <= position) found = i;
    });
    return found;
  }

  async function item(manifest, result, query) {
    const doc = await record(manifest, result.doc);
    const passage = passageAt(doc.passages, result.position);
    const [anchor, , text] = doc.passages[passage];
    const heading = doc.passages.find(([id, kind]) => id === anchor && kind === 1);
    const link = document.createElement("a");
    link.href = new URL(doc.url.slice(1), siteRoot).href + (anchor && !doc.url.includes("#") ? "#" + anchor : "");
    const title = document.createElement("span");
    title.className = "search-result-title";
    title.textContent = doc.title;
    if (result.doc >= manifest.sections) {  // a source: say so, in the page's language
      const kind = document.createElement("span");
      kind.className = "search-result-kind";
      kind.textContent = strings.source;
      link.append(kind, " ");
    }
    link.append(title);
    if (heading && passage > 0) {
      const sub = document.createElement("span");
      sub.className = "search-result-heading";
      sub.textContent = heading[2];
      link.append(" ", sub);
    }
    const li = document.createElement("li");
    li.className = "search-result" + (result.doc >= manifest.sections ? " search-result-source" : "");
    li.append(link, snippet(text, query));
    return li;
  }

  async function showMore(state, ticket) {
    const next = state.results.slice(shown.length, shown.length + PAGE_SIZE);
    const items = await Promise.all(next.map((r) => item(state.manifest, r, state.query)));
    if (ticket !== latest) return null;
    shown = shown.concat(next);
    list.append(...items);
    more.hidden = shown.length >= state.results.length;
    return items[0];
  }

  let current = null;
  async function run(query) {
    const ticket = ++latest;
    updateLinks(query);
    if (!query.trim()) {
      list.replaceChildren();
      more.hidden = true;
      status.textContent = strings.empty;
      return;
    }
    try {
      const state = await rank(query);
      if (ticket !== latest) return;
      shown = [];
      current = state;
      const items = state.results.length ? await Promise.all(state.results.slice(0, PAGE_SIZE)
        .map((r) => item(state.manifest, r, state.query))) : [];
      if (ticket !== latest) return;
      shown = state.results.slice(0, PAGE_SIZE);
      list.replaceChildren(...items);
      more.hidden = shown.length >= state.results.length;
      const n = state.results.length;
      status.textContent = n === 0 ? strings.none.replace("{q}", query.trim())
        : (n === 1 ? strings.one : strings.many.replace("{n}", n.toLocaleString(document.documentElement.lang)));
    } catch (error) {
      if (ticket === latest) status.textContent = strings.failed;
    }
  }

  /* Keep ?q= in the address, the other language's search and the language switch. */
  function updateLinks(query) {
    const url = new URL(location.href);
    if (query) url.searchParams.set("q", query); else url.searchParams.delete("q");
    history.replaceState(null, "", url);
    for (const link of document.querySelectorAll("[data-search-other], .language-switch a")) {
      const target = new URL(link.href);
      if (query) target.searchParams.set("q", query); else target.searchParams.delete("q");
      link.href = target.href;
    }
    document.querySelectorAll("input[name=q]").forEach((box) => { if (box !== document.activeElement) box.value = query; });
  }

  let timer = 0;
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => run(input.value), 150);
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    clearTimeout(timer);
    run(input.value);
  });
  more.addEventListener("click", async () => {
    const first = await showMore(current, latest);
    if (first) first.querySelector("a").focus();
  });
  root.querySelector("[data-search-no-script]").hidden = true;
  root.hidden = false;
  const query = new URLSearchParams(location.search).get("q") || "";
  input.value = query;
  run(query);
})();
