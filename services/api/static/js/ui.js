// Shared building blocks for the pages: the API client, DOM helpers, header, badges, chips, charts.
//
// Text from articles is only ever inserted with textContent (via el()), never as HTML.

import { directionOf, highlightSegments, languageTag, markTerms } from "./text.js";

export const UI = "/ui";

const LANGUAGE_NAMES = { ur: "Urdu · اردو", hi: "Hindi · हिन्दी", en: "English" };
const TYPE_NAMES = { PER: "People", ORG: "Organisations", LOC: "Places", MISC: "Other" };

const NATIVE_NAMES = { ur: "اردو", hi: "हिन्दी", en: "English" };

export const languageName = (code) => LANGUAGE_NAMES[code] || (code || "unknown").toUpperCase();
/** A language's name in itself: اردو, हिन्दी, English. */
export const nativeName = (code) => NATIVE_NAMES[code] || (code || "unknown").toUpperCase();

/** "Also in اردو · हिन्दी": links to the story's first article in each other language. */
export function alsoIn(story, language, id) {
  const others = (story?.versions || []).filter((v) => v.language !== language && v.id !== id);
  if (!others.length) return null;
  const links = others.flatMap((v, i) => [
    i ? " · " : null,
    el("a", { href: articleHref(v.id), lang: v.language, dir: directionOf(v.language), title: v.title || "" }, nativeName(v.language)),
  ]);
  return el("p", { class: "also-in small" }, "Also in ", links);
}
export const typeName = (type) => TYPE_NAMES[type] || type;

/** Create an element: el("a", {href, class: "x", dataset: {…}}, child, "text", …). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value == null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key === "style") Object.assign(node.style, value); // CSSOM: allowed by the CSP
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child == null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace a node's children. */
export function fill(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

// ------------------------------------------------------------------ API

/** An HTTP error from the API, with its status so pages can tell "absent" from "broken". */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** GET a JSON document; params may hold arrays (repeated keys). */
export async function getJSON(path, params = {}, { signal } = {}) {
  const url = new URL(path, location.origin);
  for (const [key, value] of Object.entries(params)) {
    for (const item of [].concat(value)) {
      if (item != null && item !== "") url.searchParams.append(key, item);
    }
  }
  const response = await fetch(url, { headers: { Accept: "application/json" }, signal });
  if (!response.ok) {
    let detail = response.statusText;
    try {
      const body = await response.json();
      detail = typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail);
    } catch {
      /* not JSON: keep the status text */
    }
    throw new ApiError(response.status, detail);
  }
  return response.json();
}

let openapi = null;

/** The API's routes and their query parameters, from /openapi.json (cached per page). */
export async function capabilities() {
  if (!openapi) {
    openapi = getJSON("/openapi.json")
      .then((doc) => {
        const paths = doc.paths || {};
        const params = (path) =>
          new Set(((paths[path] || {}).get?.parameters || []).map((p) => p.name));
        return { has: (path) => Boolean(paths[path]?.get), params };
      })
      .catch(() => ({ has: () => false, params: () => new Set() }));
  }
  return openapi;
}

// ------------------------------------------------------------------ page furniture

/** The top bar: brand, optional quick search, navigation. */
export function header(current) {
  const quick =
    current === "search"
      ? null
      : el(
          "form",
          { action: `${UI}/`, method: "get", role: "search" },
          el("input", {
            type: "search",
            name: "q",
            dir: "auto",
            placeholder: "Search · تلاش · खोज",
            "aria-label": "Search articles",
          }),
        );
  const link = (href, label, name) =>
    el("a", { href, "aria-current": current === name ? "page" : null }, label);
  const bar = el(
    "header",
    { class: "topbar" },
    el(
      "a",
      { class: "brand", href: `${UI}/` },
      el("span", { class: "logo", lang: "ur" }, "خ"),
      "Khabar",
      el("span", { class: "scripts" }, el("span", { lang: "ur" }, "خبر"), " · ", el("span", { lang: "hi" }, "ख़बर")),
    ),
    quick,
    el("nav", {}, link(`${UI}/`, "Search", "search"), link(`${UI}/dashboard`, "Dashboard", "dashboard")),
  );
  document.body.prepend(bar);
}

export function notice(message, kind = "") {
  return el("div", { class: `notice ${kind}`.trim(), role: kind === "error" ? "alert" : "status" }, message);
}

/** A language's name, isolated so "Urdu · اردو" never reorders the text around it. */
export const languageLabel = (code) => el("bdi", {}, languageName(code));

export function languageBadge(code) {
  const tag = languageTag(code) || "und";
  return el("span", { class: `badge lang-${tag}`, title: languageName(code) }, tag.toUpperCase());
}

export const entityHref = (id) => `${UI}/entity?id=${encodeURIComponent(id)}`;
export const articleHref = (id) => `${UI}/article?id=${encodeURIComponent(id)}`;

/** A link to an entity's page, coloured by type. */
export function entityChip(entity, count) {
  return el(
    "a",
    {
      class: `chip type-${entity.type || "MISC"}`,
      href: entityHref(entity.id),
      title: `${typeName(entity.type)} · ${entity.id}`,
      dataset: { entity: entity.id },
    },
    entity.name || entity.id,
    count != null ? el("span", { class: "n" }, String(count)) : null,
  );
}

/** Text with <mark> from a highlight fragment, safely. */
export function highlighted(fragment) {
  return highlightSegments(fragment).map((s) => (s.marked ? el("mark", {}, s.text) : s.text));
}

/** Text with the given terms marked. */
export function withTerms(text, terms) {
  return markTerms(text, terms).map((s) => (s.marked ? el("mark", {}, s.text) : s.text));
}

/** lang/dir attributes for an element holding text in this language. */
export function langAttrs(language, script) {
  const tag = languageTag(language);
  return { lang: tag || null, dir: directionOf(language, script) };
}

export function formatDate(value, withTime = false) {
  if (!value) return "";
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return "";
  const options = withTime
    ? { dateStyle: "medium", timeStyle: "short", timeZone: "UTC" }
    : { dateStyle: "medium", timeZone: "UTC" };
  return new Intl.DateTimeFormat("en-GB", options).format(date);
}

export const formatNumber = (n) =>
  n == null || Number.isNaN(n) ? "—" : new Intl.NumberFormat("en").format(Math.round(n * 10) / 10);

export function formatMs(ms) {
  if (ms == null || !Number.isFinite(ms)) return "—";
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms >= 100) return `${Math.round(ms)} ms`;
  return `${ms.toFixed(ms < 10 ? 2 : 1)} ms`;
}

// ------------------------------------------------------------------ charts (vendored uPlot)

const css = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

/**
 * A time chart in `container`: bars (histograms, timelines) or lines (live rates).
 * xs are Unix seconds; series is [{label, values, color?}]. Returns a handle with update().
 */
export function timeChart(container, xs, series, { bars = false, height = 160, ySuffix = "", integers = bars, clock = false } = {}) {
  const uPlot = globalThis.uPlot;
  if (!uPlot) {
    fill(container, el("p", { class: "muted small" }, "Chart library unavailable."));
    return { update() {} };
  }
  const palette = [css("--accent"), css("--hi"), css("--en"), css("--ur"), css("--per")];
  const width = () => Math.max(200, container.clientWidth || 300);
  const gaps = xs.slice(1).map((x, i) => x - xs[i]).filter((gap) => gap > 0);
  const step = gaps.length ? Math.min(...gaps) : 86_400 * 7;
  const options = {
    width: width(),
    height,
    legend: { show: series.length > 1 },
    cursor: { drag: { x: false, y: false } },
    scales: {
      // half a bucket of room at each end, so edge bars are whole and one bar is not alone in years
      x: { time: true, range: (_, min, max) => [min - step / 2, max + step / 2] },
      y: { range: (_, __, max) => [0, Math.max(1, max) * 1.1] },
    },
    axes: [
      {
        stroke: css("--muted"),
        grid: { stroke: css("--line") },
        ticks: { stroke: css("--line") },
        // live charts: wall-clock labels instead of uPlot's sub-minute ":13.000"
        values: clock
          ? (_, ticks) => ticks.map((t) => new Date(t * 1000).toLocaleTimeString("en-GB"))
          : undefined,
      },
      {
        stroke: css("--muted"),
        grid: { stroke: css("--line") },
        ticks: { stroke: css("--line") },
        size: 48,
        // counts: no fractional ticks
        values: (_, ticks) => ticks.map((t) => (integers && !Number.isInteger(t) ? "" : `${formatNumber(t)}${ySuffix}`)),
      },
    ],
    series: [
      {},
      ...series.map((s, i) => {
        const color = s.color || palette[i % palette.length];
        return {
          label: s.label,
          stroke: color,
          width: bars ? 0 : 2,
          fill: bars ? color : `${color}22`,
          paths: bars ? uPlot.paths.bars({ size: [0.7, 40] }) : undefined,
          points: { show: false },
        };
      }),
    ],
  };
  container.replaceChildren();
  const data = (x, ys) =>
    // uPlot spans years around a lone point whatever the range says: give it empty neighbours
    x.length === 1 ? [[x[0] - step, x[0], x[0] + step], ...ys.map((s) => [null, s.values[0], null])] : [x, ...ys.map((s) => s.values)];
  const plot = new uPlot(options, data(xs, series), container);
  new ResizeObserver(() => plot.setSize({ width: width(), height })).observe(container);
  return {
    update(newXs, newSeries) {
      plot.setData(data(newXs, newSeries));
    },
  };
}

/** Horizontal bars for categories: rows [{label, value, lang?, href?, extra?}]. */
export function hbars(rows, { format = formatNumber, max } = {}) {
  const top = max ?? Math.max(1, ...rows.map((r) => r.value || 0));
  return el(
    "div",
    { class: "hbars" },
    rows.map((row) =>
      el(
        "div",
        { class: "hbar", dataset: { key: row.key ?? row.label } },
        el(row.href ? "a" : "span", { href: row.href, lang: row.lang || null, title: row.label }, row.label),
        el(
          "div",
          { class: "track" },
          row.extra != null
            ? el("div", { class: "fill p95", style: { width: `${(100 * row.extra) / top}%` } })
            : null,
          el("div", { class: "fill", style: { width: `${(100 * (row.value || 0)) / top}%` } }),
        ),
        el("span", { class: "v" }, format(row.value), row.extra != null ? ` / ${format(row.extra)}` : ""),
      ),
    ),
  );
}

/** Seconds since the epoch for an ISO date. */
export const epoch = (iso) => Math.floor(new Date(iso).getTime() / 1000);
