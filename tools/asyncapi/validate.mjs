// Validate AsyncAPI documents with the AsyncAPI parser (the one AsyncAPI's own tools use), so
// the contract Khabar publishes is checked against the specification, not by our reading of it.
// Prints one JSON line per document — its counts per severity and every diagnostic — and exits
// 1 when any document has an error diagnostic (or does not parse at all), 0 otherwise.
//
//   node tools/asyncapi/validate.mjs shared/data/asyncapi.json [more.json …]
import { readFile } from "node:fs/promises";
import { Parser, DiagnosticSeverity } from "@asyncapi/parser";

const paths = process.argv.slice(2);
if (paths.length === 0) {
  console.error("usage: node validate.mjs DOCUMENT.json [DOCUMENT.json …]");
  process.exit(2);
}

const names = {
  [DiagnosticSeverity.Error]: "error",
  [DiagnosticSeverity.Warning]: "warning",
  [DiagnosticSeverity.Information]: "information",
  [DiagnosticSeverity.Hint]: "hint",
};

const parser = new Parser();
let failed = false;
for (const path of paths) {
  const source = await readFile(path, "utf8");
  const { document, diagnostics } = await parser.parse(source, { source: path });
  const report = {
    document: path,
    parsed: document !== undefined,
    counts: { error: 0, warning: 0, information: 0, hint: 0 },
    diagnostics: diagnostics.map((d) => ({
      severity: names[d.severity] ?? String(d.severity),
      code: d.code,
      message: d.message,
      path: d.path.join("/"),
    })),
  };
  for (const d of report.diagnostics) report.counts[d.severity] = (report.counts[d.severity] ?? 0) + 1;
  failed ||= !report.parsed || report.counts.error > 0;
  console.log(JSON.stringify(report));
}
process.exit(failed ? 1 : 0);
