// The entity page: names in each script, a mention timeline, co-occurring entities, latest articles.
//
// Reads GET /entities/{id} and /entities/{id}/articles; when the API has no entity routes yet,
// the same picture is assembled from /search?entity=id (the figures then cover those results).

import { directionOf, rebucket } from "./text.js";
import {
  ApiError,
  UI,
  articleHref,
  capabilities,
  el,
  entityChip,
  epoch,
  fill,
  formatDate,
  formatNumber,
  getJSON,
  hbars,
  header,
  langAttrs,
  languageBadge,
  languageName,
  notice,
  timeChart,
  typeName,
} from "./ui.js";

const app = document.getElementById("app");
header("entity");
const id = new URLSearchParams(location.search).get("id") || "";
const SCRIPT_ORDER = ["ur", "hi", "en"];

/** An entity detail in the API's shape, built from search results. */
async function detailFromSearch() {
  const answer = await getJSON("/search", { entity: id, size: 100, sort: "date" });
  const hits = answer.hits || [];
  const self = hits.flatMap((h) => h.entities || []).find((e) => e.id === id);
  if (!self) throw new ApiError(404, `no articles mention ${id}`);
  const counts = new Map();
  const languages = new Map();
  const months = new Map();
  for (const hit of hits) {
    languages.set(hit.language, (languages.get(hit.language) || 0) + 1);
    if (hit.published_at) {
      const month = `${hit.published_at.slice(0, 7)}-01T00:00:00Z`;
      months.set(month, (months.get(month) || 0) + 1);
    }
    for (const e of hit.entities || []) {
      if (e.id !== id) counts.set(e.id, { ...e, count: (counts.get(e.id)?.count || 0) + 1 });
    }
  }
  const byCount = (a, b) => b.count - a.count;
  return {
    ...self,
    names: { en: self.name },
    linked: null,
    article_count: answer.total,
    languages: [...languages].map(([key, count]) => ({ key, count })).sort(byCount),
    co_occurring: [...counts.values()].sort(byCount).slice(0, 12),
    timeline: [...months].map(([date, count]) => ({ date, count })),
    partial: true,
  };
}

async function load() {
  if (!id) return fill(app, notice("No entity id given.", "error"));
  fill(app, el("p", { class: "muted" }, "Loading…"));
  const caps = await capabilities();
  const path = `/entities/${encodeURIComponent(id)}`;
  try {
    const detail = caps.has("/entities/{entity_id}") ? await getJSON(path, { interval: "month" }) : await detailFromSearch();
    const articles = caps.has("/entities/{entity_id}/articles")
      ? await getJSON(`${path}/articles`, { size: 10, sort: "date" })
      : await getJSON("/search", { entity: id, size: 10, sort: "date" });
    render(detail, articles);
  } catch (error) {
    const message = error.status === 404 ? `No entity with id ${id}.` : `Could not load ${id}: ${error.message}`;
    fill(app, notice(message, "error"));
  }
}

function render(detail, articles) {
  document.title = `${detail.name} · Khabar`;
  const names = Object.entries(detail.names || {}).sort(
    ([a], [b]) => (SCRIPT_ORDER.indexOf(a) + 1 || 9) - (SCRIPT_ORDER.indexOf(b) + 1 || 9),
  );
  const timeline = el("div", { class: "chart", id: "timeline" });
  fill(
    app,
    el(
      "div",
      { class: "page-head" },
      el("h1", { id: "entity-name" }, detail.name),
      el("span", { class: `chip type-${detail.type}` }, typeName(detail.type)),
      detail.linked != null
        ? el("span", { class: "muted small" }, detail.linked ? "knowledge-base entry" : "found by the tagger")
        : null,
      el("code", { class: "muted small" }, detail.id),
    ),
    el(
      "div",
      { class: "two-col" },
      el(
        "div",
        { class: "stack" },
        el(
          "section",
          { class: "panel", id: "names" },
          el("h2", {}, "Names"),
          el(
            "div",
            { class: "names" },
            names.map(([lang, name]) =>
              el(
                "div",
                { class: "name-card", dataset: { lang } },
                el("span", { class: "muted small" }, languageName(lang)),
                el("span", { class: "name", lang, dir: directionOf(lang) }, name),
              ),
            ),
          ),
        ),
        el("section", { class: "panel" }, el("h2", {}, "Mentions over time"), timeline),
        el(
          "section",
          { class: "panel", id: "latest" },
          el("h2", {}, "Latest articles"),
          articleList(articles.hits || []),
          el(
            "p",
            { class: "small" },
            el("a", { href: `${UI}/?entity=${encodeURIComponent(detail.id)}&sort=date` }, `All ${formatNumber(detail.article_count)} articles →`),
          ),
        ),
      ),
      el(
        "div",
        { class: "stack" },
        el(
          "section",
          { class: "panel" },
          el("h2", {}, "Coverage"),
          el("dl", { class: "kv" }, el("dt", {}, "Articles"), el("dd", {}, formatNumber(detail.article_count)),
            detail.country ? [el("dt", {}, "Country"), el("dd", {}, detail.country)] : null),
          el("div", { style: { marginTop: "0.75rem" } },
            hbars((detail.languages || []).map((b) => ({ key: b.key, label: languageName(b.key), value: b.count })))),
        ),
        el(
          "section",
          { class: "panel", id: "co-occurring" },
          el("h2", {}, "Mentioned together with"),
          detail.co_occurring?.length
            ? el("div", { class: "chips" }, detail.co_occurring.map((e) => entityChip(e, e.count)))
            : el("p", { class: "muted small" }, "No other entities yet."),
        ),
        detail.partial ? el("p", { class: "muted small" }, "Figures computed from search results.") : null,
      ),
    ),
  );
  // stories, not copies: one story covered in three languages is counted once
  const { buckets } = rebucket((detail.timeline || []).map((b) => ({ ...b, count: b.stories ?? b.count })));
  if (buckets.length) {
    timeChart(timeline, buckets.map((b) => epoch(b.date)), [{ label: "stories", values: buckets.map((b) => b.count) }], { bars: true });
  } else {
    fill(timeline, el("p", { class: "muted small" }, "No dated mentions."));
  }
}

function articleList(hits) {
  if (!hits.length) return el("p", { class: "muted small" }, "No articles yet.");
  return el(
    "ul",
    { class: "article-list" },
    hits.map((hit) =>
      el(
        "li",
        { dataset: { id: hit.id } },
        languageBadge(hit.language),
        " ",
        el("a", { class: "t", href: articleHref(hit.id), ...langAttrs(hit.language, hit.script) }, hit.title || "(untitled)"),
        hit.published_at ? el("span", { class: "muted small" }, ` · ${formatDate(hit.published_at)}`) : null,
      ),
    ),
  );
}

load();
