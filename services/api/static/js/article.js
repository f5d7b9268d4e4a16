// The article page: cleaned text with entity mentions marked in place, and the pipeline journey.
//
// Mentions carry code-point offsets into the title or body (Python indices); segmentBySpans maps
// them to UTF-16 and checks each against its text before marking. The journey comes from
// GET /articles/{id}/trace when the API has it, else from the article's own enrich timings.

import { segmentBySpans } from "./text.js";
import {
  UI,
  articleHref,
  capabilities,
  el,
  entityChip,
  entityHref,
  fill,
  formatDate,
  formatMs,
  getJSON,
  hbars,
  header,
  langAttrs,
  languageBadge,
  languageLabel,
  languageName,
  notice,
  typeName,
} from "./ui.js";

const app = document.getElementById("app");
header("article");
const id = new URLSearchParams(location.search).get("id") || "";

async function load() {
  if (!/^[0-9a-f]{32}$/.test(id)) return fill(app, notice("This is not an article id.", "error"));
  fill(app, el("p", { class: "muted" }, "Loading…"));
  let article;
  try {
    article = await getJSON(`/articles/${id}`);
  } catch (error) {
    const message = error.status === 404 ? "No such article (it may still be on its way through the pipeline)." : error.message;
    return fill(app, notice(message, "error"));
  }
  const journey = el("section", { class: "panel", id: "journey" }, el("h2", {}, "Pipeline journey"), el("p", { class: "muted small" }, "Loading…"));
  const related = el("section", { class: "panel", id: "related" }, el("h2", {}, "The story elsewhere"), el("p", { class: "muted small" }, "Loading…"));
  render(article, journey, related);
  renderJourney(article, journey);
  renderRelated(article, related);
}

const RELATIONS = [
  ["story_other_language", "Same story, other languages"],
  ["story_same_language", "Same story, same language"],
  ["close_coverage", "Related coverage"],
];

/** The story's other versions and close coverage (GET /articles/{id}/related). */
async function renderRelated(article, panel) {
  let answer;
  try {
    answer = await getJSON(`/articles/${article.id}/related`, { size: 12 });
  } catch (error) {
    return fill(panel, el("h2", {}, "The story elsewhere"), notice(`Could not load related articles: ${error.message}`, "error"));
  }
  const hits = answer.hits || [];
  const groups = RELATIONS.map(([relation, title]) => [title, hits.filter((h) => h.relation === relation)]).filter(([, list]) => list.length);
  fill(
    panel,
    el("h2", {}, "The story elsewhere"),
    groups.length
      ? groups.map(([title, list]) => [
          el("h3", { class: "small" }, title),
          el(
            "ul",
            { class: "related" },
            list.map((h) =>
              el("li", { dataset: { relation: h.relation, language: h.language } }, languageBadge(h.language), " ", el("a", { href: articleHref(h.id), ...langAttrs(h.language, h.script) }, h.title || "(untitled)")),
            ),
          ),
        ])
      : el("p", { class: "muted small" }, "No other coverage of this story yet."),
  );
}

/** Every mention of every entity, as spans per field. */
function spansByField(article) {
  const fields = { title: [], body: [] };
  for (const entity of article.entities || []) {
    for (const mention of entity.mentions || []) {
      fields[mention.field]?.push({ ...mention, entity });
    }
  }
  return fields;
}

function marked(text, spans) {
  const { segments } = segmentBySpans(text || "", spans);
  return segments.map((s) =>
    s.span
      ? el(
          "a",
          {
            class: `mention type-${s.span.entity.type}`,
            href: entityHref(s.span.entity.id),
            title: `${s.span.entity.name} · ${typeName(s.span.entity.type)} · ${s.span.source || ""}`,
            dataset: { entity: s.span.entity.id, start: s.span.start, end: s.span.end },
          },
          s.text,
        )
      : s.text,
  );
}

function render(article, journey, related) {
  document.title = `${article.title || "Article"} · Khabar`;
  const spans = spansByField(article);
  const attrs = langAttrs(article.language, article.script);
  const entities = [...(article.entities || [])].sort((a, b) => (b.mentions?.length || 0) - (a.mentions?.length || 0));
  const kv = (pairs) =>
    el("dl", { class: "kv" }, pairs.filter(([, v]) => v != null && v !== "").map(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
  fill(
    app,
    el(
      "div",
      { class: "two-col" },
      el(
        "div",
        { class: "stack" },
        el(
          "article",
          { class: "panel reader", ...attrs, dataset: { id: article.id } },
          el("h1", { id: "title" }, marked(article.title, spans.title)),
          el("div", { class: "body", id: "body" }, marked(article.body, spans.body)),
        ),
        el(
          "div",
          { class: "legend" },
          ["PER", "ORG", "LOC", "MISC"].map((t) => el("span", { class: `mention type-${t}` }, typeName(t))),
        ),
        journey,
      ),
      el(
        "div",
        { class: "stack" },
        el(
          "section",
          { class: "panel" },
          el("h2", {}, "Article"),
          kv([
            ["Language", [languageBadge(article.language), " ", languageLabel(article.language), ` · ${Math.round((article.language_confidence || 0) * 100)}%`]],
            ["Script", article.script],
            ["Source", article.source],
            ["Published", formatDate(article.published_at, true) || "unknown"],
            ["Ingested", formatDate(article.ingested_at, true)],
            ["Original", article.url ? el("a", { href: article.url, rel: "noopener noreferrer", target: "_blank" }, new URL(article.url, location.href).host) : null],
            ["Flags", article.flags?.length ? el("span", { class: "flags" }, article.flags.map((f) => el("span", { class: "flag" }, f))) : null],
            ["Id", el("code", {}, article.id)],
          ]),
          (article.languages || []).length > 1
            ? el("div", { style: { marginTop: "0.75rem" } }, hbars(article.languages.map((l) => ({ key: l.language, label: languageName(l.language), value: l.share * 100 })), { format: (v) => `${Math.round(v)}%`, max: 100 }))
            : null,
        ),
        el(
          "section",
          { class: "panel", id: "entities" },
          el("h2", {}, "Entities"),
          entities.length
            ? el("div", { class: "chips" }, entities.map((e) => entityChip(e, e.mentions?.length || 0)))
            : el("p", { class: "muted small" }, "No entities found."),
        ),
        related,
      ),
    ),
  );
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** The stored trace; spans are exported in batches, so a fresh article's may lag a little
 * (and one service's may arrive before another's): wait until the API calls it complete. */
async function fetchTrace(article) {
  const fresh = Date.now() - Date.parse(article.ingested_at) < 5 * 60_000;
  for (let attempt = 0; ; attempt++) {
    let trace = null;
    try {
      trace = await getJSON(`/articles/${article.id}/trace`);
    } catch {
      trace = null; // no spans stored for it: fall back to the article's own timings
    }
    if (trace?.complete || !fresh || attempt >= 10) return trace;
    await sleep(3000);
  }
}

async function renderJourney(article, panel) {
  const caps = await capabilities();
  const trace = caps.has("/articles/{article_id}/trace") ? await fetchTrace(article) : null;
  const parts = [el("h2", {}, "Pipeline journey")];
  if (trace?.stages?.length) {
    const total = trace.total_ms || Math.max(...trace.stages.map((s) => s.start_ms + s.duration_ms));
    parts.push(
      el(
        "p",
        { class: "muted small" },
        `${formatMs(total)} from ingest to index across ${(trace.services || []).join(" → ") || "the chain"}.`,
      ),
      el(
        "div",
        { class: "journey", id: "stages" },
        trace.stages.map((stage) =>
          el(
            "div",
            { class: "stage", dataset: { stage: stage.stage } },
            el("span", { class: "name", title: `${stage.stage} (${stage.service})` }, stage.stage),
            el(
              "div",
              { class: "track" },
              el("div", {
                class: `span svc-${String(stage.service).replace(/^khabar-/, "")}`,
                style: {
                  insetInlineStart: `${(100 * stage.start_ms) / (total || 1)}%`,
                  width: `${(100 * stage.duration_ms) / (total || 1)}%`,
                },
              }),
            ),
            el("span", { class: "ms" }, formatMs(stage.duration_ms)),
          ),
        ),
      ),
    );
  } else {
    parts.push(el("p", { class: "muted small" }, caps.has("/articles/{article_id}/trace") ? "No spans stored for this article." : "This API does not serve traces yet."));
  }
  const timings = trace?.enrich_timings_ms && Object.keys(trace.enrich_timings_ms).length ? trace.enrich_timings_ms : article.timings_ms || {};
  if (Object.keys(timings).length) {
    parts.push(
      el("h2", { style: { marginTop: "1rem" } }, "Inside enrich"),
      hbars(Object.entries(timings).map(([step, ms]) => ({ key: step, label: step, value: ms })), { format: formatMs }),
    );
  }
  const traceId = trace?.trace_id || article.trace_id;
  if (traceId) {
    const link = trace?.jaeger_url || (caps.has("/traces/{trace_id}") ? `/traces/${traceId}` : null);
    parts.push(
      el("p", { class: "small" }, "Trace ", link ? el("a", { href: link, id: "trace-link" }, el("code", {}, traceId)) : el("code", {}, traceId)),
    );
  }
  parts.push(el("p", { class: "small" }, el("a", { href: `${UI}/dashboard` }, "Pipeline dashboard →")));
  fill(panel, parts);
}

load();
