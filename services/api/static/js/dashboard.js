// The ops dashboard: throughput, consumer lag, dead letters, languages and per-stage latency,
// updated in place without a reload.
//
// Sources, each optional so the page works with whatever the API offers:
// - GET /stats (polled): totals, per-language/per-source counts, lag per consumer group, dead
//   letters; without it, totals and languages come from /search facets;
// - GET /metrics of the gateway (polled): its own request rate and errors;
// - GET /stream (Server-Sent Events): each newly indexed article, for the live feed;
// - GET /articles/{id}/trace of recent articles: per-stage latency (median and p95).

import { parsePrometheus, quantiles } from "./text.js";
import {
  articleHref,
  capabilities,
  el,
  epoch,
  fill,
  formatDate,
  formatMs,
  formatNumber,
  getJSON,
  hbars,
  header,
  langAttrs,
  languageBadge,
  languageName,
  notice,
  timeChart,
} from "./ui.js";

const POLL_MS = 2000;
const WINDOW_SECONDS = 300;
const TRACE_SAMPLE = 20;

const app = document.getElementById("app");
header("dashboard");
document.title = "Pipeline dashboard · Khabar";

const tile = (id, label) =>
  el("section", { class: "panel tile", id }, el("h2", {}, label), el("div", { class: "value" }, "—"), el("div", { class: "sub" }, ""));
const tiles = {
  total: tile("tile-total", "Articles indexed"),
  rate: tile("tile-throughput", "Throughput"),
  lag: tile("tile-lag", "Consumer lag"),
  dlq: tile("tile-dead-letters", "Dead letters"),
  api: tile("tile-api", "API requests"),
};
const status = el("span", { class: "muted small", id: "updated-at" }, "connecting…");
const liveDot = el("span", { class: "live-dot off", "aria-hidden": "true" });
const throughputChart = el("div", { class: "chart", id: "throughput-chart" });
const perDayChart = el("div", { class: "chart", id: "per-day-chart" });
const languages = el("div", { id: "languages" });
const sources = el("div", { id: "sources" });
const stages = el("div", { id: "stage-latency" }, el("p", { class: "muted small" }, "Waiting for traces…"));
const feed = el("ul", { class: "feed", id: "feed" });
const problems = el("div", { id: "problems" });

fill(
  app,
  el("div", { class: "page-head" }, el("h1", {}, "Pipeline"), el("span", {}, liveDot, status)),
  problems,
  el("div", { class: "tiles" }, Object.values(tiles)),
  el(
    "div",
    { class: "grid-2" },
    el("section", { class: "panel" }, el("h2", {}, "Indexed per minute (live)"), throughputChart),
    el("section", { class: "panel" }, el("h2", {}, "Per-stage latency · median / p95"), stages),
    el("section", { class: "panel" }, el("h2", {}, "Stories per language per day"), perDayChart),
    el("section", { class: "panel" }, el("h2", {}, "Languages"), languages, el("h2", { style: { marginTop: "1rem" } }, "Sources"), sources),
    el("section", { class: "panel" }, el("h2", {}, "Just indexed"), feed),
  ),
);

function setTile(node, value, sub = "", alert = false) {
  node.querySelector(".value").textContent = value;
  node.querySelector(".sub").textContent = sub;
  node.classList.toggle("alert", alert);
}

// ------------------------------------------------------------------ polling

const samples = []; // {t: seconds, total}
let throughput = null;
let lastRequests = null;

/** Totals and breakdowns: /stats when served, else search facets. */
async function readStats(caps) {
  if (caps.has("/stats")) return getJSON("/stats", { days: 30 });
  const answer = await getJSON("/search", { size: 1, facets: "true" });
  return {
    total_articles: answer.total,
    per_language: answer.facets?.languages || [],
    per_source: answer.facets?.sources || [],
    per_language_per_day: [],
    pipeline: { error: "this API has no /stats yet: lag and dead letters unknown" },
  };
}

function recordThroughput(total) {
  const now = Date.now() / 1000;
  samples.push({ t: now, total });
  while (samples.length > 2 && samples[0].t < now - WINDOW_SECONDS) samples.shift();
  // articles per minute between consecutive polls (never negative: the index may be rebuilt)
  const xs = [];
  const rates = [];
  for (let i = 1; i < samples.length; i++) {
    const dt = samples[i].t - samples[i - 1].t;
    xs.push(Math.round(samples[i].t));
    rates.push(dt > 0 ? Math.max(0, ((samples[i].total - samples[i - 1].total) * 60) / dt) : 0);
  }
  const recent = rates.slice(-15);
  const mean = recent.length ? recent.reduce((a, b) => a + b, 0) / recent.length : 0;
  setTile(tiles.rate, `${formatNumber(mean)}/min`, `over the last ${Math.round(Math.min(recent.length * POLL_MS, WINDOW_SECONDS * 1000) / 1000)} s`);
  if (xs.length < 2) return;
  const series = [{ label: "articles/min", values: rates }];
  if (!throughput) throughput = timeChart(throughputChart, xs, series, { height: 170, clock: true });
  else throughput.update(xs, series);
}

function renderStats(stats) {
  setTile(tiles.total, formatNumber(stats.total_articles), `${stats.per_language?.length || 0} languages`);
  recordThroughput(stats.total_articles);
  const pipeline = stats.pipeline || {};
  const lag = Object.entries(pipeline.lag || {});
  if (lag.length) {
    const sum = lag.reduce((a, [, n]) => a + n, 0);
    setTile(tiles.lag, formatNumber(sum), lag.map(([group, n]) => `${group.replace(/^khabar-/, "")} ${formatNumber(n)}`).join(" · "), sum > 1000);
  } else {
    setTile(tiles.lag, "—", pipeline.error ? "unknown" : "no consumer groups yet");
  }
  if (pipeline.dead_letters != null) {
    setTile(tiles.dlq, formatNumber(pipeline.dead_letters), "in articles.dlq", pipeline.dead_letters > 0);
  } else {
    setTile(tiles.dlq, "—", "unknown");
  }
  fill(problems, pipeline.error ? notice(`Broker figures unavailable: ${pipeline.error}`) : null);
  fill(languages, hbars((stats.per_language || []).map((b) => ({ key: b.key, label: languageName(b.key), value: b.count }))));
  fill(sources, hbars((stats.per_source || []).slice(0, 8).map((b) => ({ key: b.key, label: b.key, value: b.count }))));
  renderPerDay(stats.per_language_per_day || []);
}

let perDayKey = "";
function renderPerDay(rows) {
  const key = JSON.stringify(rows);
  if (key === perDayKey) return; // unchanged: keep the chart (and its hover state)
  perDayKey = key;
  if (!rows.length) return fill(perDayChart, el("p", { class: "muted small" }, "No articles published in the last 30 days."));
  const days = [...new Set(rows.map((r) => r.date))].sort();
  const langs = [...new Set(rows.map((r) => r.language))].sort();
  // stories, not copies: the same story in three languages is one per language, not three
  const counts = new Map(rows.map((r) => [`${r.date}|${r.language}`, r.stories ?? r.count]));
  timeChart(
    perDayChart,
    days.map(epoch),
    langs.map((lang) => ({ label: languageName(lang), values: days.map((d) => counts.get(`${d}|${lang}`) || 0), color: getComputedStyle(document.documentElement).getPropertyValue(`--${lang}`).trim() || undefined })),
    { height: 170, integers: true },
  );
}

/** The gateway's own request rate and server errors, from its Prometheus metrics. */
async function readApiMetrics() {
  const response = await fetch("/metrics");
  if (!response.ok) return;
  const samplesNow = parsePrometheus(await response.text()).filter((s) => s.name === "api_requests_total");
  if (!samplesNow.length) return setTile(tiles.api, "—", "no request metrics exported");
  const total = samplesNow.reduce((a, s) => a + s.value, 0);
  const errors = samplesNow.filter((s) => String(s.labels.status || "").startsWith("5")).reduce((a, s) => a + s.value, 0);
  const now = Date.now() / 1000;
  const rate = lastRequests && now > lastRequests.t ? (total - lastRequests.total) / (now - lastRequests.t) : 0;
  lastRequests = { t: now, total };
  setTile(tiles.api, `${formatNumber(rate)}/s`, `${formatNumber(total)} served · ${formatNumber(errors)} 5xx`, errors > 0);
}

async function poll() {
  const caps = await capabilities();
  try {
    renderStats(await readStats(caps));
    await readApiMetrics().catch(() => setTile(tiles.api, "—", "metrics unavailable"));
    status.textContent = `updated ${new Date().toLocaleTimeString("en-GB")}`;
    status.dataset.updates = String(Number(status.dataset.updates || 0) + 1);
    liveDot.classList.remove("off");
  } catch (error) {
    status.textContent = `update failed: ${error.message}`;
    liveDot.classList.add("off");
  }
  setTimeout(poll, POLL_MS);
}

// ------------------------------------------------------------------ live feed and stage latency

const traces = new Map(); // article id -> stages (or null while loading / when absent)

function addToFeed(hit, when) {
  if (feed.querySelector(`[data-id="${hit.id}"]`)) return;
  feed.prepend(
    el(
      "li",
      { dataset: { id: hit.id } },
      languageBadge(hit.language),
      el("a", { href: articleHref(hit.id), ...langAttrs(hit.language, hit.script) }, hit.title || "(untitled)"),
      el("span", { class: "muted small" }, when),
    ),
  );
  while (feed.children.length > 12) feed.lastElementChild.remove();
  sampleTrace(hit.id);
}

async function sampleTrace(id) {
  const caps = await capabilities();
  if (!caps.has("/articles/{article_id}/trace") || traces.has(id)) return;
  traces.set(id, null);
  while (traces.size > TRACE_SAMPLE) traces.delete(traces.keys().next().value);
  try {
    const trace = await getJSON(`/articles/${id}/trace`);
    if (traces.has(id)) traces.set(id, trace.stages || []);
  } catch {
    traces.delete(id);
  }
  renderStages();
}

function renderStages() {
  const byStage = new Map();
  for (const list of traces.values()) {
    for (const stage of list || []) {
      if (!byStage.has(stage.stage)) byStage.set(stage.stage, []);
      byStage.get(stage.stage).push(stage.duration_ms);
    }
  }
  if (!byStage.size) return;
  const rows = [...byStage].map(([name, values]) => ({ key: name, label: name, ...quantiles(values) }));
  fill(
    stages,
    hbars(rows.map((r) => ({ key: r.key, label: r.label, value: r.p50, extra: r.p95 })), { format: formatMs }),
    el("p", { class: "muted small" }, `From the traces of the last ${traces.size} articles.`),
  );
}

async function startFeed() {
  const caps = await capabilities();
  // seed with recent articles so latency and the feed are not empty on a quiet pipeline
  try {
    const recent = await getJSON("/search", { size: 8, sort: "date" });
    for (const hit of (recent.hits || []).reverse()) addToFeed(hit, formatDate(hit.published_at));
  } catch {
    /* the poller reports search failures */
  }
  if (!caps.has("/stream")) return;
  // EventSource reconnects by itself (with Last-Event-ID) when the server ends a bounded stream
  const source = new EventSource("/stream");
  source.addEventListener("article", (event) => {
    try {
      addToFeed(JSON.parse(event.data), new Date().toLocaleTimeString("en-GB"));
    } catch {
      /* a malformed event is skipped */
    }
  });
}

poll();
startFeed();
