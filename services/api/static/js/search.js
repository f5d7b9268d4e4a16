// The search page: one box for any script, facets, a date histogram and shareable URLs.
//
// All state lives in the query string (q, lang, entity, type, source, from, to, sort), so a URL
// reproduces a search exactly; facets come from the API's aggregations when it sends them and are
// otherwise counted from the results on the page (labelled as such).

import { directionOf, highlightTerms, rebucket, textDirection } from "./text.js";
import {
  UI,
  alsoIn,
  articleHref,
  capabilities,
  el,
  entityChip,
  entityHref,
  epoch,
  fill,
  formatDate,
  formatNumber,
  getJSON,
  header,
  highlighted,
  langAttrs,
  languageBadge,
  languageName,
  notice,
  timeChart,
  typeName,
  withTerms,
} from "./ui.js";

const LIST_KEYS = ["lang", "entity", "type", "source"];
const SCALAR_KEYS = ["q", "from", "to", "sort", "collapse"];
const PAGE_SIZE = 20;
const EXAMPLES = [
  ["پاکستان", "ur"],
  ["भारत", "hi"],
  ["Pakistan Russia", "en"],
];

/** The search state in the current URL. */
function readState() {
  const params = new URLSearchParams(location.search);
  const state = {};
  for (const key of SCALAR_KEYS) state[key] = params.get(key) || "";
  for (const key of LIST_KEYS) state[key] = params.getAll(key).filter(Boolean);
  return state;
}

function stateUrl(state) {
  const params = new URLSearchParams();
  for (const key of SCALAR_KEYS) if (state[key]) params.set(key, state[key]);
  for (const key of LIST_KEYS) for (const value of state[key] || []) params.append(key, value);
  const query = params.toString();
  return `${UI}/${query ? `?${query}` : ""}`;
}

function navigate(state) {
  history.pushState(null, "", stateUrl(state));
  run();
}

function toggled(state, key, value) {
  const list = state[key] || [];
  return { ...state, [key]: list.includes(value) ? list.filter((v) => v !== value) : [...list, value] };
}

/** Dates typed as YYYY-MM-DD become the start/end of that UTC day for the API. */
function apiDate(value, endOfDay) {
  if (!value) return null;
  return /^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T${endOfDay ? "23:59:59" : "00:00:00"}Z` : value;
}

function apiParams(state, cursor) {
  return {
    q: state.q,
    lang: state.lang,
    entity: state.entity,
    entity_type: state.type,
    source: state.source,
    from: apiDate(state.from, false),
    to: apiDate(state.to, true),
    sort: state.sort || null,
    collapse: state.collapse || null,
    size: PAGE_SIZE,
    facets: cursor ? null : "true",
    cursor,
  };
}

// ------------------------------------------------------------------ skeleton

const app = document.getElementById("app");
header("search");
const input = el("input", {
  type: "search",
  name: "q",
  id: "q",
  dir: "auto",
  autocomplete: "off",
  placeholder: "پاکستان · भारत · Pakistan",
  "aria-label": "Search in Urdu, Hindi or English",
});
const suggestions = el("div", { class: "chips examples", id: "suggestions" });
const form = el(
  "form",
  { class: "searchbox", role: "search", id: "search-form" },
  input,
  el("button", { type: "submit" }, "Search"),
);
const summary = el("span", { class: "summary", id: "summary" });
const active = el("div", { class: "chips", id: "active-filters" });
const sort = el(
  "select",
  { id: "sort", "aria-label": "Sort order" },
  el("option", { value: "" }, "Best match"),
  el("option", { value: "date" }, "Newest first"),
);
const perStory = el("input", { type: "checkbox", id: "collapse" });
const perStoryLabel = el("label", { class: "toggle small", for: "collapse" }, perStory, " One per story");
const facets = el("aside", { class: "facets", id: "facets", "aria-label": "Refine" });
const results = el("section", { class: "results", id: "results", "aria-label": "Results" });

fill(
  app,
  el(
    "section",
    { class: "hero" },
    el("h1", {}, "Search the news in any script"),
    el("p", { class: "tagline" }, "Urdu, Hindi or English — names match across scripts."),
    form,
    el(
      "p",
      { class: "examples" },
      "Try",
      EXAMPLES.map(([q, lang]) => el("a", { href: stateUrl({ q }), lang, dir: directionOf(lang) }, q)),
    ),
    suggestions,
  ),
  el("div", { class: "controls" }, summary, active, perStoryLabel, sort),
  el("div", { class: "layout" }, facets, results),
);

form.addEventListener("submit", (event) => {
  event.preventDefault();
  navigate({ ...readState(), q: input.value.trim() });
});
sort.addEventListener("change", () => navigate({ ...readState(), sort: sort.value }));
perStory.addEventListener("change", () => navigate({ ...readState(), collapse: perStory.checked ? "story" : "" }));
input.addEventListener("input", () => {
  input.dir = textDirection(input.value);
  suggest(input.value.trim());
});
window.addEventListener("popstate", run);

// ------------------------------------------------------------------ entity suggestions

let suggestTimer = 0;
function suggest(text) {
  clearTimeout(suggestTimer);
  suggestTimer = setTimeout(async () => {
    const caps = await capabilities();
    if (!text || !caps.has("/entities")) return fill(suggestions);
    try {
      const answer = await getJSON("/entities", { q: text, limit: 6 });
      const items = answer.items || [];
      fill(suggestions, items.length ? ["Entities:", items.map((e) => entityChip(e, e.article_count))] : []);
    } catch {
      fill(suggestions);
    }
  }, 200);
}

// ------------------------------------------------------------------ results

let generation = 0;

async function run() {
  const state = readState();
  const mine = ++generation;
  input.value = state.q;
  input.dir = textDirection(state.q);
  sort.value = state.sort === "date" ? "date" : "";
  perStory.checked = state.collapse === "story";
  document.title = state.q ? `${state.q} · Khabar` : "Khabar — search news in Urdu, Hindi and English";
  renderActive(state);
  fill(summary, "Searching…");
  delete results.dataset.query;
  results.setAttribute("aria-busy", "true");
  try {
    const answer = await getJSON("/search", apiParams(state));
    if (mine !== generation) return;
    renderResults(state, answer, false);
    renderFacets(state, answer);
    results.dataset.query = state.q; // which search the list shows (scripts and tests wait on it)
  } catch (error) {
    if (mine !== generation) return;
    fill(summary);
    fill(results, notice(`Search failed: ${error.message}`, "error"));
    fill(facets);
  } finally {
    results.removeAttribute("aria-busy");
  }
}

function renderActive(state) {
  const chips = [];
  const add = (key, value, label) =>
    chips.push(
      el(
        "span",
        { class: "chip-filter" },
        label,
        el(
          "button",
          { type: "button", "aria-label": `Remove ${label}`, onclick: () => navigate(toggled(state, key, value)) },
          "×",
        ),
      ),
    );
  for (const code of state.lang) add("lang", code, languageName(code));
  for (const id of state.entity) add("entity", id, id);
  for (const type of state.type) add("type", type, typeName(type));
  for (const source of state.source) add("source", source, source);
  for (const key of ["from", "to"]) {
    if (state[key]) {
      chips.push(
        el(
          "span",
          { class: "chip-filter" },
          `${key} ${state[key]}`,
          el("button", { type: "button", onclick: () => navigate({ ...state, [key]: "" }) }, "×"),
        ),
      );
    }
  }
  fill(active, chips);
}

function renderResults(state, answer, appending) {
  const hits = answer.hits || [];
  const took = answer.took_ms != null ? ` in ${answer.took_ms} ms` : "";
  const unit = state.collapse === "story" ? "stor" : "article";
  const plural = state.collapse === "story" ? (answer.total === 1 ? "y" : "ies") : answer.total === 1 ? "" : "s";
  fill(summary, `${formatNumber(answer.total)} ${unit}${plural}${took}`);
  const cards = hits.map(resultCard);
  if (appending) {
    results.querySelector(".more")?.remove();
    results.append(...cards);
  } else if (!hits.length) {
    fill(results, notice(state.q ? `Nothing matches “${state.q}”.` : "No articles yet."));
  } else {
    fill(results, interpretation(answer), cards);
  }
  if (answer.next_cursor) {
    const more = el("button", { class: "secondary more", type: "button" }, "More results");
    more.addEventListener("click", async () => {
      more.disabled = true;
      try {
        renderResults(state, await getJSON("/search", apiParams(state, answer.next_cursor)), true);
      } catch (error) {
        more.replaceWith(notice(`Could not load more: ${error.message}`, "error"));
      }
    });
    results.append(more);
  }
}

function interpretation(answer) {
  // only knowledge-base readings: name-key guesses (one id per entity type) would be noise
  const linked = (answer.interpretation || []).filter((t) => t.via === "kb" && (t.entity_ids || []).length);
  if (!linked.length) return null;
  return el(
    "p",
    { class: "muted small" },
    "Also matching the entities ",
    linked.flatMap((t) => t.entity_ids.map((id) => el("a", { class: "chip", href: entityHref(id) }, id))),
    " in every script.",
  );
}

function resultCard(hit) {
  const attrs = langAttrs(hit.language, hit.script);
  const highlight = hit.highlight || {};
  const terms = highlightTerms([...(highlight.title || []), ...(highlight.body || [])]);
  return el(
    "article",
    { class: "panel result", ...attrs, dataset: { id: hit.id, language: hit.language } },
    el(
      "div",
      { class: "meta" },
      languageBadge(hit.language),
      hit.source ? el("span", { class: "src", lang: "en", dir: "ltr" }, hit.source) : null,
      hit.published_at
        ? el("time", { datetime: hit.published_at, lang: "en", dir: "ltr" }, formatDate(hit.published_at))
        : null,
    ),
    el("h3", {}, el("a", { href: articleHref(hit.id) }, withTerms(hit.title || "(untitled)", terms))),
    (highlight.body || []).map((fragment) => el("p", { class: "snippet" }, "… ", highlighted(fragment), " …")),
    hit.entities?.length
      ? el("div", { class: "chips entities", dir: attrs.dir }, hit.entities.map((e) => entityChip(e)))
      : null,
    el(
      "div",
      { class: "story", lang: "en", dir: "ltr" },
      alsoIn(hit.story, hit.language, hit.id),
      hit.story?.articles > 1 ? el("span", { class: "muted small" }, `${hit.story.articles} articles in this story`) : null,
    ),
  );
}

// ------------------------------------------------------------------ facets

/** Facets counted from the hits on the page, in the API's shape, when it sends none. */
function pageFacets(hits) {
  const count = (keys) => {
    const counts = new Map();
    for (const key of keys) if (key) counts.set(key, (counts.get(key) || 0) + 1);
    return [...counts].map(([key, n]) => ({ key, count: n })).sort((a, b) => b.count - a.count);
  };
  const entities = {};
  const seen = new Map();
  for (const hit of hits) {
    for (const e of hit.entities || []) {
      const bucket = seen.get(e.id) || { ...e, count: 0 };
      bucket.count += 1;
      seen.set(e.id, bucket);
    }
  }
  for (const bucket of [...seen.values()].sort((a, b) => b.count - a.count)) {
    (entities[bucket.type] ||= []).push(bucket);
  }
  const days = count(hits.map((h) => (h.published_at ? h.published_at.slice(0, 10) : null)));
  return {
    languages: count(hits.map((h) => h.language)),
    sources: count(hits.map((h) => h.source)),
    entities,
    published: days.map((d) => ({ date: `${d.key}T00:00:00Z`, count: d.count })),
  };
}

function renderFacets(state, answer) {
  const fromApi = Boolean(answer.facets);
  const data = answer.facets || pageFacets(answer.hits || []);
  const sections = [];
  const bucketList = (key, buckets, label = (b) => b.key, lang = () => null) => {
    const top = Math.max(1, ...buckets.map((b) => b.count));
    return el(
      "ul",
      {},
      buckets.map((b) => {
        const value = b.id ?? b.key;
        const on = (state[key] || []).includes(value);
        return el(
          "li",
          {},
          el(
            "a",
            {
              class: `bucket${on ? " active" : ""}`,
              href: stateUrl(toggled(state, key, value)),
              dataset: { facet: key, value },
              onclick: (event) => {
                event.preventDefault();
                navigate(toggled(state, key, value));
              },
            },
            el("span", { class: "bar", style: { width: `${(100 * b.count) / top}%` } }),
            el("span", { class: "label", lang: lang(b) }, label(b)),
            el("span", { class: "count" }, formatNumber(b.count)),
          ),
        );
      }),
    );
  };
  const section = (title, id, ...body) =>
    sections.push(el("section", { class: "panel facet", id }, el("h2", {}, title), ...body));

  if (data.languages?.length) {
    section("Language", "facet-language", bucketList("lang", data.languages, (b) => languageName(b.key)));
  }
  const entityTypes = Object.entries(data.entities || {}).filter(([, list]) => list?.length);
  if (entityTypes.length) {
    section(
      "Entities",
      "facet-entity",
      entityTypes.map(([type, list]) => [el("h4", {}, typeName(type)), bucketList("entity", list.slice(0, 6), (b) => b.name || b.id)]),
    );
  }
  if (data.sources?.length) section("Source", "facet-source", bucketList("source", data.sources.slice(0, 8)));
  const chart = el("div", { class: "chart", id: "histogram" });
  section("Published", "facet-date", chart, dateRange(state));
  if (!fromApi && (answer.hits || []).length) {
    sections.push(el("p", { class: "muted small" }, "Counts are for the results on this page."));
  }
  fill(facets, sections);
  const { buckets } = rebucket(data.published);
  if (buckets.length) {
    requestAnimationFrame(() =>
      timeChart(chart, buckets.map((b) => epoch(b.date)), [{ label: "articles", values: buckets.map((b) => b.count) }], {
        bars: true,
        height: 130,
      }),
    );
  } else {
    fill(chart, el("p", { class: "muted small" }, "No dated articles."));
  }
}

function dateRange(state) {
  const from = el("input", { type: "date", value: state.from?.slice(0, 10) || "", "aria-label": "From" });
  const to = el("input", { type: "date", value: state.to?.slice(0, 10) || "", "aria-label": "To" });
  const apply = () => navigate({ ...state, from: from.value, to: to.value });
  from.addEventListener("change", apply);
  to.addEventListener("change", apply);
  return el("div", { class: "controls small" }, from, "–", to);
}

run();
