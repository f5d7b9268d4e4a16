// Pure text functions for the pages: no DOM, no network, so they can be checked in isolation.
//
// Offsets: the API counts in Unicode code points (Python str indices), JavaScript strings in
// UTF-16 code units. They agree for Urdu, Hindi and English (all in the BMP) but differ after any
// astral character (emoji, rare CJK, mathematical letters), which is a surrogate pair in JS.

const RTL_LANGUAGES = new Set(["ur", "ar", "fa", "ps", "sd", "ug", "ckb", "he", "yi", "dv"]);
const RTL_SCRIPTS = new Set(["Arab", "Hebr", "Thaa", "Syrc", "Nkoo", "Adlm", "Rohg"]);

/** "rtl" for Urdu and other right-to-left languages or scripts, "ltr" otherwise. */
export function directionOf(language, script) {
  if (RTL_LANGUAGES.has(String(language || "").toLowerCase())) return "rtl";
  if (RTL_SCRIPTS.has(String(script || ""))) return "rtl";
  return "ltr";
}

/** The BCP 47 tag to put in lang="…" ("und" becomes empty so the browser falls back). */
export function languageTag(language) {
  const code = String(language || "").toLowerCase();
  return /^[a-z]{2,3}$/.test(code) && code !== "und" ? code : "";
}

/** Guess the direction of text the user typed (first strong character wins, like dir=auto). */
export function textDirection(text) {
  for (const ch of String(text || "")) {
    const cp = ch.codePointAt(0);
    if ((cp >= 0x0590 && cp <= 0x08ff) || (cp >= 0xfb1d && cp <= 0xfdff) || (cp >= 0xfe70 && cp <= 0xfeff)) {
      return "rtl";
    }
    if (/\p{L}/u.test(ch)) return "ltr";
  }
  return "ltr";
}

/**
 * A function from code-point offset to UTF-16 offset in `text`.
 * Offsets past the end map to text.length; a string with no surrogates maps to itself.
 */
export function codePointOffsets(text) {
  if (!/[\uD800-\uDFFF]/.test(text)) {
    return (offset) => Math.max(0, Math.min(offset, text.length));
  }
  const starts = [];
  let unit = 0;
  for (const ch of text) {
    starts.push(unit);
    unit += ch.length;
  }
  starts.push(unit);
  return (offset) => (offset < 0 ? 0 : offset >= starts.length ? text.length : starts[offset]);
}

/**
 * Split `text` into plain and marked segments from spans with code-point `start`/`end`.
 *
 * A span is kept only when the text at its offsets equals its `text` (when given), so a stale or
 * misaligned mention never marks the wrong words; overlapping spans keep the earlier, then the
 * longer one. Returns {segments: [{text, span|null}], skipped: [span…]}.
 */
export function segmentBySpans(text, spans) {
  const toUnit = codePointOffsets(text);
  const candidates = [];
  const skipped = [];
  for (const span of spans) {
    const from = toUnit(span.start);
    const to = toUnit(span.end);
    const valid = Number.isInteger(span.start) && Number.isInteger(span.end) && span.end > span.start;
    if (!valid || to <= from || (span.text != null && text.slice(from, to) !== span.text)) {
      skipped.push(span);
      continue;
    }
    candidates.push({ from, to, span });
  }
  candidates.sort((a, b) => a.from - b.from || b.to - a.to);
  const segments = [];
  let cursor = 0;
  for (const { from, to, span } of candidates) {
    if (from < cursor) {
      skipped.push(span);
      continue;
    }
    if (from > cursor) segments.push({ text: text.slice(cursor, from), span: null });
    segments.push({ text: text.slice(from, to), span });
    cursor = to;
  }
  if (cursor < text.length) segments.push({ text: text.slice(cursor), span: null });
  return { segments, skipped };
}

/**
 * Segments of a search-highlight fragment: only <mark>…</mark> is markup, everything else is
 * literal text (article text is never trusted as HTML).
 */
export function highlightSegments(fragment) {
  const segments = [];
  let marked = false;
  for (const piece of String(fragment).split(/(<\/?mark>)/)) {
    if (piece === "<mark>") marked = true;
    else if (piece === "</mark>") marked = false;
    else if (piece) segments.push({ text: piece, marked });
  }
  return segments;
}

/** The distinct marked words in highlight fragments, longest first. */
export function highlightTerms(fragments) {
  const terms = new Set();
  for (const fragment of fragments || []) {
    for (const seg of highlightSegments(fragment)) {
      const term = seg.text.trim();
      if (seg.marked && term) terms.add(term);
    }
  }
  return [...terms].sort((a, b) => b.length - a.length);
}

/** Segments of `text` with every case-insensitive occurrence of `terms` marked. */
export function markTerms(text, terms) {
  const source = String(text || "");
  const wanted = (terms || []).filter(Boolean);
  if (!wanted.length) return [{ text: source, marked: false }];
  const escaped = wanted.map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  const pattern = new RegExp(`(${escaped.join("|")})`, "giu");
  const segments = [];
  let last = 0;
  for (const match of source.matchAll(pattern)) {
    if (match.index > last) segments.push({ text: source.slice(last, match.index), marked: false });
    segments.push({ text: match[0], marked: true });
    last = match.index + match[0].length;
  }
  if (last < source.length) segments.push({ text: source.slice(last), marked: false });
  return segments;
}

/** Median and 95th percentile of numbers (nearest rank); null for an empty list. */
export function quantiles(values) {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (!sorted.length) return null;
  const rank = (q) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
  return { p50: rank(0.5), p95: rank(0.95), n: sorted.length };
}

/**
 * Parse Prometheus text exposition into [{name, labels, value}] (comments and malformed lines
 * are skipped). Enough for counters, gauges and histogram series.
 */
export function parsePrometheus(body) {
  const samples = [];
  const line = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/;
  const label = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
  for (const raw of String(body).split("\n")) {
    if (!raw || raw.startsWith("#")) continue;
    const m = line.exec(raw);
    if (!m) continue;
    const value = Number(m[4]);
    if (Number.isNaN(value)) continue;
    const labels = {};
    for (const [, key, val] of (m[3] || "").matchAll(label)) labels[key] = val.replace(/\\(.)/g, "$1");
    samples.push({ name: m[1], labels, value });
  }
  return samples;
}

const DAY = 86_400;

/**
 * Date buckets [{date, count}] regrouped so a chart has a readable number of bars: daily for a
 * span up to ~2 months, weekly (Monday starts) up to ~9 months, monthly beyond. Returns
 * {unit, buckets} with buckets sorted by date and dates as ISO strings (UTC).
 */
export function rebucket(buckets) {
  const dated = (buckets || [])
    .map((b) => ({ t: Date.parse(b.date), count: b.count || 0 }))
    .filter((b) => Number.isFinite(b.t))
    .sort((a, b) => a.t - b.t);
  if (!dated.length) return { unit: "day", buckets: [] };
  const spanDays = (dated.at(-1).t - dated[0].t) / 1000 / DAY;
  const unit = spanDays > 270 ? "month" : spanDays > 60 ? "week" : "day";
  const start = (t) => {
    const d = new Date(t);
    if (unit === "month") return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
    const day = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
    return unit === "week" ? day - ((d.getUTCDay() + 6) % 7) * DAY * 1000 : day;
  };
  const sums = new Map();
  for (const b of dated) sums.set(start(b.t), (sums.get(start(b.t)) || 0) + b.count);
  return {
    unit,
    buckets: [...sums].map(([t, count]) => ({ date: new Date(t).toISOString(), count })),
  };
}
