// The pieces the three printed forms are made of: labels in the three languages at once, value
// boxes tied to the API's field names, texts with their translation, signature blocks and empty
// boxes for ink. Every value goes in as text (h()), so whatever a record holds prints literally.

import { h } from "../dom.js";
import { LANGUAGES, formatDate, formatDateTime, formatMoney, formatNumber, language, t, tAll } from "../i18n.js";
import { entryLabel } from "../widgets/ui.js";

export const HTML_LANG = { en: "en", es: "es", zh: "zh-CN" };

/** The words for `key` in English, Spanish and Chinese ({text, lang}), a word said twice left out. */
export function words3(key) {
  const all = tAll(key);
  return all.map((text, index) => ({ text, lang: HTML_LANG[LANGUAGES[index]] })).filter((item, index) => all.indexOf(item.text) === index);
}

/** "Part number / Número de parte / 零件号", each part marked with its language. */
export function label3(key, tag = "span", attrs = {}) {
  const parts = [];
  for (const [index, item] of words3(key).entries()) {
    if (index) parts.push(h("span", { class: "sep", "aria-hidden": "true" }, " / "));
    parts.push(h("span", { lang: item.lang }, item.text));
  }
  return h(tag, { ...attrs, class: ["label3", attrs.class] }, parts);
}

/** The same three-language words as plain text, for values that are fixed words (a status). */
export function text3(key) {
  return words3(key)
    .map((item) => item.text)
    .join(" / ");
}

export function isEmpty(value) {
  return value === null || value === undefined || value === "" || (Array.isArray(value) && value.length === 0);
}

/**
 * A labelled value box. `name` is the API's field name (data-print-field) so a reader of the
 * page (and its tests) can tell which value is which; an empty value leaves a line to write on.
 */
export function box(name, labelKey, content, { span = 1, cls = null, tall = false, data = {} } = {}) {
  const empty = isEmpty(content);
  return h(
    "div",
    { class: ["pf", `span-${span}`, tall && "tall", cls] },
    label3(labelKey, "div", { class: "pf-label" }),
    h("div", { class: ["pf-value", empty && "empty"], dataset: { printField: name, ...data } }, empty ? null : content),
  );
}

/** A box with nothing in it, for a value written by hand on the paper. */
export function inkBox(name, labelKey, { span = 1, tall = false } = {}) {
  return h(
    "div",
    { class: ["pf", "ink", `span-${span}`, tall && "tall"] },
    label3(labelKey, "div", { class: "pf-label" }),
    h("div", { class: "pf-value empty", dataset: { printInk: name } }),
  );
}

/** A catalog entry ("FC-02 - Process error") or a user ("ENG001 - Zhang Wei"); the bare id if unnamed. */
export function named(record, field) {
  const id = record[`${field}_id`];
  if (isEmpty(id)) return null;
  const entry = record[field];
  return entry ? entryLabel(entry) : `#${id}`;
}

export function date(value) {
  return isEmpty(value) ? null : formatDate(value);
}

export function number(value) {
  return isEmpty(value) ? null : formatNumber(value);
}

export function money(value) {
  return isEmpty(value) ? null : formatMoney(value);
}

/** Scrap plus other cost, counted in cents so 0.1 + 0.2 prints 0.30; null when neither is known. */
export function totalCost(record) {
  const parts = [record.material_scrap_cost, record.other_cost].filter((value) => !isEmpty(value));
  if (!parts.length) return null;
  return parts.reduce((sum, value) => sum + Math.round(Number(value) * 100), 0) / 100;
}

/**
 * A text as it was written, and below it the reader's language when that differs and exists,
 * saying whether a machine or a person translated it.
 */
export function text(record, field) {
  const info = record.texts?.[field];
  if (!info) return isEmpty(record[field]) ? null : String(record[field]);
  const source = info.source_language;
  const original = info.values?.[source]?.text ?? record[field];
  if (isEmpty(original)) return null;
  const mine = language();
  const reader = info.values?.[mine];
  if (mine === source || isEmpty(reader?.text)) {
    return h("span", { class: "pt-original", lang: HTML_LANG[source] }, original);
  }
  const note = [t(`origin.${reader.origin}`), t(`lang.${mine}`)];
  if (reader.outdated) note.push(t("print.outdated"));
  return [
    h("span", { class: "pt-note" }, `${t("origin.author")} · ${t(`lang.${source}`)}`),
    h("span", { class: "pt-original", lang: HTML_LANG[source] }, original),
    h("span", { class: "pt-note", dataset: { origin: reader.origin } }, note.join(" · ")),
    h("span", { class: "pt-translation", lang: HTML_LANG[mine] }, reader.text),
  ];
}

/** A section heading in the three languages. */
export function heading(key) {
  return label3(key, "h2", { class: "print-section" });
}

/** A grid of boxes under a heading. */
export function section(key, ...boxes) {
  return h("section", { class: "print-block" }, key ? heading(key) : null, h("div", { class: "pf-grid" }, boxes));
}

/**
 * The approval that stands: the latest "approved_disposition" signature of a closed record.
 * Reopening withdraws it, so a record that is not closed has none; answers {signature,
 * withdrawn, withdrawnBy} (the approval withdrawn and the reopening that did it).
 */
export function standingApproval(record) {
  const signatures = sortedSignatures(record);
  const approvals = signatures.filter((item) => item.meaning === "approved_disposition");
  const latest = approvals.at(-1) || null;
  if (record.is_closed && latest) return { signature: latest, withdrawn: null, withdrawnBy: null };
  const withdrawnBy = latest ? signatures.filter((item) => item.meaning === "reopened" && item.signed_at >= latest.signed_at).at(-1) || null : null;
  return { signature: null, withdrawn: latest, withdrawnBy };
}

function sortedSignatures(record) {
  return [...(record.signatures || [])].sort((a, b) => String(a.signed_at).localeCompare(String(b.signed_at)));
}

function signRow(part, labelKey, value, { line = false } = {}) {
  const empty = isEmpty(value);
  return h(
    "div",
    { class: ["sig-row", line && "sig-line"] },
    label3(labelKey, "div", { class: "pf-label" }),
    h("div", { class: ["sig-value", empty && "empty"], dataset: { signaturePart: part } }, empty ? null : value),
  );
}

/**
 * A sign-off block: who (printed name, role), when, what the signature means, and the signature
 * itself (the electronic one, or a line for ink). Part 11: name, date and time, meaning.
 */
export function signatureBlock({ id, titleKey, name, role, when, meaningKey, signed, note }) {
  return h(
    "section",
    { class: ["sig-block", signed ? "signed" : "unsigned"], id, dataset: { signed: signed ? "true" : "false" } },
    label3(titleKey, "h3", { class: "sig-title" }),
    signRow("name", "print.sign.name", name),
    role !== undefined ? signRow("role", "print.sign.role", role) : null,
    signRow("time", "print.sign.date", when),
    signRow("meaning", "print.sign.meaning", meaningKey ? text3(meaningKey) : null),
    signRow("signature", "print.sign.signature", signed ? signed : null, { line: true }),
    note ? h("p", { class: "sig-note" }, note) : null,
  );
}

/** The engineer's block of the tag: the disposition they decided, a line to sign in ink. */
export function engineeringBlock(record) {
  return signatureBlock({
    id: "signature-engineering",
    titleKey: "print.sign.engineering",
    name: record.engineer ? `${record.engineer.full_name} (${record.engineer.username})` : named(record, "engineer"),
    when: date(record.disposition_date),
    meaningKey: "print.meaning.disposition_decided",
    signed: null,
  });
}

/** Quality's block: the electronic approval when it stands, else empty lines to fill in. */
export function qualityBlock(record) {
  const { signature, withdrawn, withdrawnBy } = standingApproval(record);
  if (!signature) {
    let note = null;
    if (withdrawn) {
      note = t("print.sign.withdrawn", { when: formatDateTime(withdrawnBy?.signed_at || record.reopened_at), name: withdrawnBy?.signer_name || record.reopened_by?.full_name || "" });
    }
    return signatureBlock({ id: "signature-quality", titleKey: "print.sign.quality", name: null, role: null, when: null, meaningKey: "signature.approved_disposition", signed: null, note });
  }
  return signatureBlock({
    id: "signature-quality",
    titleKey: "print.sign.quality",
    name: `${signature.signer_name} (${signature.signer_username})`,
    role: t(`role.${signature.signer_role}`),
    when: formatDateTime(signature.signed_at),
    meaningKey: `signature.${signature.meaning}`,
    signed: t("print.sign.electronic", { version: signature.record_version }),
  });
}

/** Every electronic signature of the record, oldest first (the MRB sheet lists them). */
export function signatureList(record) {
  const signatures = sortedSignatures(record);
  if (!signatures.length) return h("p", { class: "pt-note", id: "print-esignatures-none" }, text3("print.sign.none"));
  return h(
    "ul",
    { class: "esig-list", id: "print-esignatures" },
    signatures.map((item) =>
      h(
        "li",
        { dataset: { meaning: item.meaning } },
        h("strong", null, text3(`signature.${item.meaning}`)),
        " — ",
        `${item.signer_name} (${item.signer_username}), ${t(`role.${item.signer_role}`)}`,
        " — ",
        formatDateTime(item.signed_at),
        " — ",
        t("print.sign.electronic", { version: item.record_version }),
        item.reason ? [" — ", h("span", { class: "esig-reason" }, item.reason)] : null,
      ),
    ),
  );
}

/** Name / signature / date lines left empty for ink, one row per function that signs. */
export function inkSignOff(rows) {
  return h(
    "table",
    { class: "ink-table" },
    h(
      "thead",
      null,
      h(
        "tr",
        null,
        h("th", { scope: "col" }, label3("print.sign.function")),
        h("th", { scope: "col" }, label3("print.sign.name")),
        h("th", { scope: "col" }, label3("print.sign.signature")),
        h("th", { scope: "col" }, label3("print.sign.date")),
      ),
    ),
    h(
      "tbody",
      null,
      rows.map(({ key, name }) =>
        h("tr", { dataset: { signoff: name } }, h("th", { scope: "row" }, label3(key)), h("td", null), h("td", null), h("td", null)),
      ),
    ),
  );
}
