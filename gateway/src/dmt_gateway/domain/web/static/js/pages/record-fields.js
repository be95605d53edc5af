// The fields of the record form: an editor per kind of value (catalog and user pickers, dates,
// numbers, lines of text), the same field read-only, and the texts kept in three languages.
// Every editor answers value() in the API's form and says whether it differs from what was loaded.

import { h } from "../dom.js";
import { language, t } from "../i18n.js";
import { catalogPicker, catalogText, userPicker, userText } from "../widgets/picker.js";
import { field as fieldBox } from "../widgets/ui.js";
import { CATALOG_OF, NUMBER_FIELDS, STRING_FIELDS, USER_ROLES, blank, display, fieldLabel, kindOf, labelOf } from "./record-model.js";

function same(a, b) {
  return (blank(a) && blank(b)) || a === b;
}

function requiredMark() {
  return h("span", { class: "required", "aria-hidden": "true" }, " *");
}

/**
 * An editor of one field. record: the values loaded; onChange(): after every edit.
 * Answers {field, element, value(), dirty(), shown(), check()}: check() gives a message when
 * the browser already knows the value cannot be right (not a number, out of range).
 */
export function editor(name, record, rules, { required = false, hint = null, onChange = () => {}, onCorrect = null } = {}) {
  const kind = kindOf(name, rules);
  const id = `field-${name}`;
  const label = fieldLabel(name);
  let control;
  let read;
  let shown;
  let check = () => null;
  if (kind === "catalog" || kind === "user") {
    const options = { id, value: record[labelOf(name)] || null, onChange, required, label };
    control = kind === "catalog" ? catalogPicker({ kind: CATALOG_OF[name], ...options }) : userPicker({ role: USER_ROLES[name], ...options });
    control.input.name = name;
    read = () => control.value()?.id ?? null;
    shown = () => (kind === "catalog" ? catalogText(control.value()) : userText(control.value()));
  } else if (kind === "date") {
    control = h("input", { id, name, type: "date", value: record[name] || "", required, oninput: onChange, onchange: onChange });
    read = () => control.value || null;
    shown = () => display({ [name]: read() }, name);
    check = () => (control.validity.badInput ? t("record.error.date") : null);
  } else if (kind === "number") {
    const bounds = NUMBER_FIELDS[name];
    control = h("input", {
      id,
      name,
      type: "number",
      inputmode: bounds.step === 1 ? "numeric" : "decimal",
      min: bounds.min,
      max: bounds.max,
      step: bounds.step,
      value: record[name] ?? "",
      required,
      oninput: onChange,
    });
    read = () => (control.value === "" ? null : Number(control.value));
    shown = () => display({ [name]: read() }, name);
    check = () => {
      if (control.validity.valid) return null;
      return bounds.step === 1 ? t("record.error.whole", { min: bounds.min }) : t("record.error.decimal", { min: bounds.min });
    };
  } else if (kind === "text") {
    return textEditor(name, record, rules, { required, onChange, onCorrect });
  } else {
    control = h("input", { id, name, type: "text", maxlength: STRING_FIELDS[name] || 120, value: record[name] ?? "", required, oninput: onChange });
    read = () => (control.value.trim() ? control.value : null);
    shown = () => read() ?? "";
  }
  const initial = read();
  const element = fieldBox({ label, control, name, required, hint });
  return { field: name, kind, element, value: read, dirty: () => !same(read(), initial), shown, check };
}

/** A field shown as plain text, with room for the server's message about it. */
export function readOnly(name, record, rules) {
  if (kindOf(name, rules) === "text") return textEditor(name, record, rules, { editable: false });
  const value = display(record, name);
  const element = h(
    "div",
    { class: "field rec-readonly", dataset: { field: name } },
    h("span", { class: "rec-label", id: `label-${name}` }, fieldLabel(name)),
    h("div", { class: ["rec-value", !value && "rec-empty"], id: `value-${name}`, "aria-labelledby": `label-${name}` }, value || t("core.none")),
    h("small", { class: "field-error", role: "alert", hidden: true }),
  );
  return { field: name, element, value: () => null, dirty: () => false, shown: () => value, check: () => null };
}

function languageName(code) {
  return code ? t(`lang.${code}`) : "";
}

/** What to say about the text shown: its origin, a pending translation, the language it is in. */
function textMarks(set, shownLanguage, reader) {
  const marks = [];
  if (!set) return marks;
  const shownValue = set.values?.[shownLanguage];
  const readerValue = set.values?.[reader];
  if (shownLanguage && shownLanguage !== reader) {
    if (readerValue && readerValue.state !== "done") marks.push({ kind: readerValue.state, text: t(`state.${readerValue.state}`) });
    marks.push({ kind: "language", text: t("record.text.in_language", { language: languageName(shownLanguage) }) });
  } else if (shownValue && shownValue.origin !== "author") {
    marks.push({ kind: shownValue.origin, text: t(`origin.${shownValue.origin}`) });
    if (shownValue.outdated) marks.push({ kind: "outdated", text: t("record.text.outdated") });
  }
  return marks;
}

/**
 * A text kept in three languages. It shows the reader's language when there is a text in it,
 * else the original, and says which; "Show original" and "All languages" show the others.
 *
 * Editing: the API stores a PATCHed text as the new original in the request's language and
 * translates the other two again. So the text is written in the language it is shown in (an
 * original shown in another language stays in that language); when what is shown is a
 * translation, the person chooses between correcting that translation only (PUT .../texts) and
 * making their words the new original. plan() says which of these a save does.
 *
 * onCorrect(field, language, text): a person who may edit the field corrects one translation.
 */
export function textEditor(name, record, rules, { editable = true, required = false, onChange = () => {}, onCorrect = null } = {}) {
  const reader = language();
  const set = record.texts?.[name] || null;
  const shownLanguage = record.text_languages?.[name] || null;
  const shownText = record[name] ?? "";
  const source = set?.source_language || null;
  const shownValue = set?.values?.[shownLanguage] || null;
  const isTranslation = Boolean(shownValue && shownValue.origin !== "author" && source);
  const writeLanguage = shownLanguage || reader;
  const id = `field-${name}`;
  const label = fieldLabel(name);

  let textarea = null;
  let mode = null;
  let body;
  if (editable) {
    textarea = h("textarea", {
      id,
      name,
      rows: 3,
      maxlength: rules.text_max_length,
      lang: shownText ? writeLanguage : reader,
      required,
      value: shownText,
    });
    if (isTranslation) {
      const group = `text-mode-${name}`;
      const option = (value, text, checked) =>
        h(
          "label",
          { class: "rec-radio" },
          h("input", { type: "radio", name: group, value, id: `${group}-${value}`, checked }),
          " ",
          text,
        );
      mode = h(
        "fieldset",
        { class: "rec-text-mode", id: group, hidden: true },
        h("legend", null, t("record.text.mode_legend")),
        option("correct", t("record.text.mode_correct", { language: languageName(shownLanguage) }), true),
        option("original", t("record.text.mode_original", { language: languageName(shownLanguage) }), false),
      );
    }
    textarea.addEventListener("input", () => {
      if (mode) mode.hidden = textarea.value === shownText;
      onChange();
    });
    body = textarea;
  } else {
    body = h(
      "div",
      { class: ["rec-value", "rec-text-body", !shownText && "rec-empty"], id: `value-${name}`, lang: shownText ? shownLanguage : null, "aria-labelledby": `label-${name}` },
      shownText || t("core.none"),
    );
  }

  const marks = textMarks(set, shownLanguage, reader);
  const extras = [];
  const original = source && set.values?.[source]?.text;
  let originalBox = null;
  if (original && shownLanguage !== source) {
    originalBox = h(
      "div",
      { class: "rec-text-original", id: `original-${name}`, hidden: true },
      h("span", { class: "rec-label" }, t("record.text.original_label", { language: languageName(source) })),
      h("p", { lang: source }, original),
    );
    const showLabel = t("record.text.show_original", { language: languageName(source) });
    const toggle = h("button", { type: "button", class: "link", id: `show-original-${name}`, "aria-expanded": "false", "aria-controls": originalBox.id }, showLabel);
    toggle.addEventListener("click", () => {
      originalBox.hidden = !originalBox.hidden;
      toggle.setAttribute("aria-expanded", String(!originalBox.hidden));
      toggle.textContent = originalBox.hidden ? showLabel : t("record.text.hide_original");
    });
    extras.push(toggle);
  }
  let allBox = null;
  if (set) {
    allBox = h("div", { class: "rec-text-all table-wrap", id: `all-languages-${name}`, hidden: true }, languagesTable(name, set, { onCorrect: editable ? onCorrect : null }));
    const allLabel = t("record.text.all_languages");
    const toggle = h("button", { type: "button", class: "link", id: `show-all-${name}`, "aria-expanded": "false", "aria-controls": allBox.id }, allLabel);
    toggle.addEventListener("click", () => {
      allBox.hidden = !allBox.hidden;
      toggle.setAttribute("aria-expanded", String(!allBox.hidden));
      toggle.textContent = allBox.hidden ? allLabel : t("record.text.hide_all");
    });
    extras.push(toggle);
  }
  const meta =
    marks.length || extras.length
      ? h(
          "div",
          { class: "rec-text-meta" },
          marks.map((mark) => h("span", { class: `rec-mark rec-mark-${mark.kind}`, dataset: { mark: mark.kind } }, mark.text)),
          extras,
        )
      : null;
  const writingNote =
    editable && !shownText ? h("small", { class: "hint" }, t("record.text.writing_in", { language: languageName(reader) })) : null;

  const labelId = `label-${name}`;
  const errorId = `${id}-error`;
  if (textarea) textarea.setAttribute("aria-describedby", errorId);
  const element = h(
    "div",
    {
      class: ["field", "wide", "rec-text", !editable && "rec-readonly"],
      dataset: { field: name, textField: name, textLanguage: shownLanguage || "", textOrigin: shownValue?.origin || "", textState: set?.values?.[reader]?.state || "" },
    },
    editable
      ? h("label", { for: id, id: labelId }, label, required ? requiredMark() : null)
      : h("span", { class: "rec-label", id: labelId }, label),
    body,
    meta,
    mode,
    writingNote,
    originalBox,
    allBox,
    h("small", { class: "field-error", id: errorId, role: "alert", hidden: true }),
  );

  const read = () => (textarea ? textarea.value : shownText);
  const dirty = () => Boolean(textarea) && read() !== shownText && !(blank(read()) && blank(shownText));
  return {
    field: name,
    kind: "text",
    element,
    value: () => (blank(read()) ? null : read()),
    dirty,
    shown: () => read(),
    check: () => null,
    /** What saving this text does: null (unchanged), clear, write an original, or correct a translation. */
    plan() {
      if (!dirty()) return null;
      if (blank(textarea.value)) return { action: "clear" };
      const choice = mode?.querySelector("input:checked")?.value;
      if (isTranslation && choice === "correct") return { action: "correct", language: shownLanguage, text: textarea.value };
      return { action: "original", language: writeLanguage, text: textarea.value };
    },
  };
}

/** Every language of a text: the words, where they come from, and (for editors) a way to correct them. */
function languagesTable(name, set, { onCorrect }) {
  const rows = ["en", "es", "zh"].map((code) => {
    const value = set.values?.[code];
    const isSource = code === set.source_language;
    let status;
    if (!value) status = t("record.text.none");
    else if (value.state !== "done") status = t(`state.${value.state}`);
    else status = t(`origin.${value.origin}`);
    if (value?.outdated) status = `${status} · ${t("record.text.outdated")}`;
    const canCorrect = onCorrect && !isSource && set.values?.[set.source_language]?.text;
    return h(
      "tr",
      { dataset: { language: code } },
      h("th", { scope: "row" }, t(`lang.${code}`)),
      h("td", { lang: code, class: value?.text ? null : "rec-empty" }, value?.text || t("core.none")),
      h("td", null, status),
      h(
        "td",
        null,
        canCorrect
          ? h(
              "button",
              {
                type: "button",
                class: "link",
                id: `correct-${name}-${code}`,
                onclick: () => onCorrect(name, code, value?.text || ""),
              },
              t("record.text.correct"),
            )
          : null,
      ),
    );
  });
  return h(
    "table",
    { class: "rec-languages" },
    h("caption", { class: "visually-hidden" }, t("record.text.all_caption", { field: fieldLabel(name) })),
    h("thead", null, h("tr", null, h("th", { scope: "col" }, t("core.language")), h("th", { scope: "col" }, t("record.text.text")), h("th", { scope: "col" }, t("record.text.source")), h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, t("record.text.correct"))))),
    h("tbody", null, rows),
  );
}
