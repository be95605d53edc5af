// Reading and writing CSV for the catalog import: RFC 4180 fields (quoted fields may hold commas,
// doubled quotes and line breaks), UTF-8 with or without a byte order mark, CRLF, LF or CR line
// ends, and a header row naming the columns. A file saved by a spreadsheet set to a language that
// writes decimal commas uses semicolons; the header row tells which one the file uses.

import { saveBlob } from "../dom.js";

export const CATALOG_COLUMNS = ["item_number", "item_name", "item_name_es", "item_name_zh"];
const REQUIRED_COLUMNS = ["item_number", "item_name"];

function delimiterOf(text) {
  const end = text.search(/[\r\n]/);
  const first = end < 0 ? text : text.slice(0, end);
  if (first.includes(",")) return ",";
  if (first.includes(";")) return ";";
  if (first.includes("\t")) return "\t";
  return ",";
}

/**
 * Splits CSV text into records: [{line, fields}], `line` being the file line the record starts on
 * (1 = the first). Blank lines are skipped. Answers {records, delimiter} or {error: {code, line}}.
 */
export function parseCsv(text, delimiter) {
  let source = String(text ?? "");
  if (source.charCodeAt(0) === 0xfeff) source = source.slice(1);
  const sep = delimiter || delimiterOf(source);
  const records = [];
  let fields = [];
  let value = "";
  let quoted = false; // inside a quoted field
  let wasQuoted = false; // the current field began with a quote
  let line = 1;
  let start = 1;
  let i = 0;
  let wasQuotedRecord = false; // some field of the current record was quoted

  const endField = () => {
    fields.push(value);
    value = "";
    wasQuoted = false;
  };
  const endRecord = () => {
    endField();
    const blank = fields.length === 1 && fields[0] === "" && !wasQuotedRecord;
    if (!blank) records.push({ line: start, fields });
    fields = [];
    wasQuotedRecord = false;
  };

  while (i < source.length) {
    const c = source[i];
    if (quoted) {
      if (c === '"') {
        if (source[i + 1] === '"') {
          value += '"';
          i += 2;
          continue;
        }
        quoted = false;
        i += 1;
        continue;
      }
      if (c === "\r" || c === "\n") {
        // A line break inside a quoted field belongs to the value (kept as one \n).
        if (c === "\r" && source[i + 1] === "\n") i += 1;
        value += "\n";
        line += 1;
        i += 1;
        continue;
      }
      value += c;
      i += 1;
      continue;
    }
    if (c === '"' && value === "" && !wasQuoted) {
      quoted = true;
      wasQuoted = true;
      wasQuotedRecord = true;
      i += 1;
      continue;
    }
    if (c === sep) {
      endField();
      i += 1;
      continue;
    }
    if (c === "\r" || c === "\n") {
      if (c === "\r" && source[i + 1] === "\n") i += 1;
      endRecord();
      line += 1;
      start = line;
      i += 1;
      continue;
    }
    // Text after a closing quote (`"ab"c`) is kept, as spreadsheets do.
    value += c;
    i += 1;
  }
  if (quoted) return { error: { code: "unterminated", line: start } };
  if (value !== "" || fields.length || wasQuoted) endRecord();
  return { records, delimiter: sep };
}

/**
 * A catalog file: the header row names the columns (any order, any letter case); item_number and
 * item_name are required, item_name_es and item_name_zh optional, other columns are ignored.
 * Answers {rows: [{line, item_number, item_name, item_name_es, item_name_zh}], ignored, delimiter}
 * or {error: {code: "empty" | "unterminated" | "missing-columns" | "repeated-column", line, columns}}.
 */
export function readCatalogCsv(text) {
  const parsed = parseCsv(text);
  if (parsed.error) return { error: parsed.error };
  if (!parsed.records.length) return { error: { code: "empty", line: 1 } };
  const [header, ...body] = parsed.records;
  const names = header.fields.map((name) => name.replace(/^\uFEFF/, "").trim().toLowerCase());
  const index = {};
  const ignored = [];
  for (const [position, name] of names.entries()) {
    if (CATALOG_COLUMNS.includes(name)) {
      if (name in index) return { error: { code: "repeated-column", line: header.line, columns: [name] } };
      index[name] = position;
    } else if (name) {
      ignored.push(header.fields[position].trim());
    }
  }
  const missing = REQUIRED_COLUMNS.filter((name) => !(name in index));
  if (missing.length) return { error: { code: "missing-columns", line: header.line, columns: missing } };
  const rows = body.map(({ line, fields }) => {
    const row = { line };
    for (const name of CATALOG_COLUMNS) row[name] = name in index ? (fields[index[name]] ?? "") : "";
    return row;
  });
  return { rows, ignored, delimiter: parsed.delimiter };
}

function quote(value) {
  const text = value === null || value === undefined ? "" : String(value);
  return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** CSV text from rows of values (the first row being the header), CRLF line ends, with a BOM so spreadsheets read it as UTF-8. */
export function toCsv(rows) {
  return `\uFEFF${rows.map((row) => row.map(quote).join(",")).join("\r\n")}\r\n`;
}

/** Hands CSV text to the browser as a download. */
export function saveCsv(text, fileName) {
  saveBlob(new Blob([text], { type: "text/csv;charset=utf-8" }), fileName);
}
