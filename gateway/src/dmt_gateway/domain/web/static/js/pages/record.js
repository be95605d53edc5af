// One record: the five sections of the paper form, each editable by the roles the API's rules
// name and read-only for the others; one Save for the page that PATCHes only what changed, on
// the version loaded; a conflict panel when someone saved first (nothing typed is lost); closing
// and reopening as electronic signatures; the signatures and the history; texts in three languages.
//
// One Save for the whole page rather than one per section: a record is one versioned document,
// so one save makes one version, meets one version check and, if someone saved first, one
// conflict to settle. A role with two sections (Inspector, Tech Engineer, Admin) never leaves
// half its edits unsaved, and the bar that counts unsaved changes stays in reach (and Ctrl+S).

import { api } from "../api.js";
import { h, replace } from "../dom.js";
import { formatDateTime, formatMoney, formatNumber, language, t } from "../i18n.js";
import { guardLeaving, navigate } from "../router.js";
import * as session from "../session.js";
import { userText } from "../widgets/picker.js";
import { clearErrors, errorPanel, notice, problemText, showErrors, statusBadge } from "../widgets/ui.js";
import { editor, readOnly } from "./record-fields.js";
import { historyPanel, linesAfter, signaturesPanel } from "./record-history.js";
import { blank, display, editableSections, fieldLabel, kindOf, loadRules, originalText, sectionRoles } from "./record-model.js";
import { render as renderNew } from "./record-new.js";
import { closeDialog, correctionDialog, deleteDialog, reopenDialog } from "./record-sign.js";

/** The dashboard's address when the page before this one was the dashboard (its filters kept). */
function previousList() {
  const nav = window.navigation;
  if (!nav?.currentEntry || typeof nav.entries !== "function") return null;
  const index = nav.currentEntry.index;
  const before = index > 0 ? nav.entries()[index - 1] : null;
  if (!before?.url) return null;
  const url = new URL(before.url);
  return url.origin === location.origin && url.pathname === "/records" ? url : null;
}

function backLink() {
  const list = previousList();
  return h(
    "a",
    {
      href: list ? list.pathname + list.search : "/records",
      id: "record-back",
      class: "rec-back",
      onclick: (event) => {
        if (!list || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey) return;
        event.preventDefault();
        history.back();
      },
    },
    `← ${t("core.back_to_list")}`,
  );
}

function metaItem(term, ...value) {
  return h("div", { class: "rec-meta-item" }, h("dt", null, term), h("dd", null, ...value));
}

function when(at, who) {
  return [h("time", { datetime: at }, formatDateTime(at)), who ? ` · ${userText(who)}` : null];
}

export async function render(root, ctx) {
  if (ctx.route === "record-new") return renderNew(root, ctx);
  const id = Number(ctx.params.id);
  let rules;
  let first;
  try {
    [rules, first] = await Promise.all([loadRules(), api.get(`/records/${id}`)]);
  } catch (error) {
    if (error.status !== 404) throw error;
    root.append(errorPanel(t("record.not_found"), t("record.not_found_text"), h("p", null, h("a", { href: "/records", id: "record-back" }, t("core.back_to_list")))));
    return null;
  }
  return recordPage(root, rules, first);
}

function recordPage(root, rules, first) {
  const id = first.id;
  const role = session.role();
  const allFields = Object.values(rules.sections).flat();
  const requiredAlways = new Set(rules.required_at_creation);
  const requiredToClose = new Set(rules.required_to_close);
  let record = first;
  let editors = [];
  let conflict = null;
  let saving = false;
  const timeline = historyPanel(id);
  const conflictSlot = h("div", { id: "conflict-slot" });
  let savebar = null;
  let count = null;

  const dirtyEditors = () => editors.filter((one) => one.dirty());
  const isDirty = () => dirtyEditors().length > 0;

  function updateDirty() {
    if (!savebar) return;
    const n = dirtyEditors().length;
    savebar.dataset.dirty = String(n);
    count.textContent = n ? t("record.unsaved", { count: formatNumber(n) }) : t("record.no_unsaved");
    savebar.querySelector("#discard-changes").hidden = n === 0;
  }

  // ------------------------------------------------------------------ painting

  function header() {
    const closed = record.is_closed;
    const actions = [];
    if (!closed && rules.close_roles.includes(role)) {
      actions.push(h("button", { type: "button", class: "primary", id: "close-record", onclick: onClose }, t("record.close.button")));
    }
    if (closed && rules.reopen_roles.includes(role)) {
      actions.push(h("button", { type: "button", id: "reopen-record", onclick: onReopen }, t("record.reopen.button")));
    }
    if (rules.delete_roles.includes(role)) {
      actions.push(h("button", { type: "button", class: "danger", id: "delete-record", onclick: onDelete }, t("record.delete.button")));
    }
    const print = (form, text) => h("a", { href: `/records/${id}/print/${form}`, id: `print-${form}`, class: "button" }, text);
    return h(
      "section",
      { class: "panel rec-header", id: "record-header", dataset: { recordId: id } },
      h(
        "div",
        { class: "rec-header-top" },
        backLink(),
        h("nav", { class: "rec-print", "aria-label": t("record.print.label") }, h("span", { class: "muted" }, t("record.print.label")), print("tag", t("record.print.tag")), print("mrb", t("record.print.mrb")), print("car", t("record.print.car"))),
      ),
      h(
        "h1",
        { tabindex: "-1" },
        h("span", { id: "record-number" }, record.report_number),
        " ",
        h("span", { id: "record-status", dataset: { status: record.status } }, statusBadge(record.status)),
      ),
      h(
        "dl",
        { class: "rec-meta" },
        metaItem(t("field.version"), h("span", { id: "record-version", dataset: { version: record.version } }, String(record.version))),
        metaItem(t("field.created_at"), ...when(record.created_at, record.created_by)),
        metaItem(t("record.last_change"), ...when(record.updated_at, record.updated_by)),
        record.closed_at ? metaItem(t("field.closed_at"), ...when(record.closed_at, record.closed_by)) : null,
        record.reopened_at ? metaItem(t("field.reopened_at"), ...when(record.reopened_at, record.reopened_by)) : null,
      ),
      actions.length ? h("div", { class: "actions rec-record-actions" }, actions) : null,
    );
  }

  function section(number, editable) {
    const names = rules.sections[String(number)];
    const fields = names.map((name) => {
      const one = editable
        ? editor(name, record, rules, {
            required: requiredAlways.has(name),
            hint: requiredToClose.has(name) && blank(record[name]) ? t("record.needed_to_close") : null,
            onChange: updateDirty,
            onCorrect,
          })
        : readOnly(name, record, rules);
      editors.push(one);
      return one.element;
    });
    const roles = sectionRoles(rules, number).map((r) => t(`role.${r}`));
    const total = (record.material_scrap_cost ?? 0) + (record.other_cost ?? 0);
    return h(
      "fieldset",
      { class: ["panel", "rec-section", !editable && "rec-locked"], id: `section-${number}`, dataset: { section: number, editable: String(editable) } },
      h("legend", null, t(`section.${number}`)),
      !editable && !record.is_closed ? h("p", { class: "rec-editable-by muted" }, t("record.editable_by", { roles: roles.join(", ") })) : null,
      h("div", { class: "form-grid" }, fields),
      number === 4 && (record.material_scrap_cost !== null || record.other_cost !== null)
        ? h("p", { class: "rec-total", id: "record-total-cost" }, h("span", { class: "rec-label" }, fieldLabel("total_cost")), " ", formatMoney(total))
        : null,
    );
  }

  function paint() {
    const focused = document.activeElement?.id;
    const closed = record.is_closed;
    const mine = closed ? [] : editableSections(rules, role);
    editors = [];
    const sections = [1, 2, 3, 4, 5].map((number) => section(number, mine.includes(number)));
    savebar = null;
    if (mine.length) {
      count = h("span", { id: "unsaved-count", "aria-live": "polite" });
      savebar = h(
        "div",
        { class: "rec-savebar", id: "record-savebar" },
        count,
        h("button", { type: "button", class: "link", id: "discard-changes", hidden: true, onclick: discard }, t("record.discard")),
        h("button", { type: "submit", class: "primary", id: "save-record", "aria-keyshortcuts": "Control+S" }, t("core.save")),
      );
    }
    const form = h("form", { id: "record-form", novalidate: true, class: "rec-form" }, sections, savebar);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      save();
    });
    replace(
      root,
      header(),
      closed
        ? h("p", { class: "notice-inline", id: "record-closed-note", role: "note" }, t("record.closed_note", { roles: rules.reopen_roles.map((r) => t(`role.${r}`)).join(", ") }))
        : null,
      mine.length === 0 && !closed ? h("p", { class: "notice-inline", id: "record-read-only-note", role: "note" }, t("record.read_only_note")) : null,
      conflictSlot,
      form,
      signaturesPanel(record),
      timeline,
    );
    updateDirty();
    document.title = `DMT · ${record.report_number}`;
    if (focused) document.getElementById(focused)?.focus({ preventScroll: true });
  }

  function discard() {
    conflict = null;
    replace(conflictSlot);
    paint();
    document.getElementById("save-record")?.focus();
  }

  // ------------------------------------------------------------------ saving

  /** What a save sends: PATCH bodies (one per language texts are written in) and translation corrections. */
  function collect() {
    const fields = {};
    const originals = new Map();
    const corrections = [];
    for (const one of dirtyEditors()) {
      if (one.kind !== "text") {
        fields[one.field] = one.value();
        continue;
      }
      const plan = one.plan();
      if (!plan) continue;
      if (plan.action === "clear") fields[one.field] = null;
      else if (plan.action === "correct") corrections.push({ field: one.field, language: plan.language, text: plan.text });
      else {
        if (!originals.has(plan.language)) originals.set(plan.language, {});
        originals.get(plan.language)[one.field] = plan.text;
      }
    }
    const reader = language();
    const languages = [...originals.keys()].sort((a, b) => (a === reader ? -1 : b === reader ? 1 : 0));
    const patches = [];
    if (!languages.length && Object.keys(fields).length) patches.push(fields);
    languages.forEach((code, index) => patches.push({ ...(index === 0 ? fields : {}), ...originals.get(code), language: code }));
    const steps = [
      ...patches.map((body) => (version) => api.patch(`/records/${id}`, body, { version })),
      ...corrections.map((c) => (version) => api.put(`/records/${id}/texts/${c.field}/${c.language}`, { text: c.text }, { version })),
    ];
    return steps;
  }

  async function save() {
    if (saving || !savebar) return;
    const form = root.querySelector("#record-form");
    clearErrors(form);
    const local = dirtyEditors()
      .map((one) => ({ field: one.field, message: one.check() }))
      .filter((item) => item.message);
    if (local.length) {
      showErrors(form, { errors: local });
      return;
    }
    const steps = collect();
    if (!steps.length) {
      notice(t("record.nothing_to_save"), "info");
      return;
    }
    saving = true;
    const button = root.querySelector("#save-record");
    if (button) button.disabled = true;
    const base = record;
    try {
      let answer = null;
      for (const step of steps) {
        answer = await step(answer ? answer.version : base.version);
        record = answer;
      }
      conflict = null;
      replace(conflictSlot);
      paint();
      notice(t("record.saved", { version: record.version }), "success");
      timeline.reload();
    } catch (error) {
      if (error.status === 412) {
        await showConflict(record);
      } else {
        const left = showErrors(form, error);
        if (left.length || !error.errors.length) notice([problemText(error), ...left].join(" "), "error");
        else notice(t("record.error.check_fields", { count: error.errors.length }), "error");
        if (error.status === 409) await refresh();
      }
    } finally {
      saving = false;
      const again = root.querySelector("#save-record");
      if (again) again.disabled = false;
    }
  }

  // ------------------------------------------------------------------ someone saved first

  function differs(before, after, name) {
    if (kindOf(name, rules) === "text") return (originalText(before, name) ?? "") !== (originalText(after, name) ?? "");
    const a = before[name];
    const b = after[name];
    return !((blank(a) && blank(b)) || a === b);
  }

  async function showConflict(base) {
    let current;
    let lines;
    try {
      [current, lines] = await Promise.all([api.get(`/records/${id}`), linesAfter(id, base.version)]);
    } catch (error) {
      notice(problemText(error), "error");
      return;
    }
    const theirs = new Map();
    for (const line of lines) {
      if (line.field && allFields.includes(line.field) && line.action !== "translated") theirs.set(line.field, line);
    }
    for (const name of allFields) if (!theirs.has(name) && differs(base, current, name)) theirs.set(name, null);
    const mine = new Map(dirtyEditors().map((one) => [one.field, one.shown()]));
    conflict = { current };
    const shownValue = (name) => (kindOf(name, rules) === "text" ? current[name] || "" : display(current, name));
    const rows = [...theirs.entries()].map(([name, line]) =>
      h(
        "tr",
        { dataset: { field: name } },
        h("th", { scope: "row" }, fieldLabel(name)),
        h("td", { class: "rec-theirs" }, shownValue(name) || t("core.none")),
        h("td", null, line ? [h("strong", null, line.actor_name), line.actor_role ? ` (${t(`role.${line.actor_role}`)})` : "", h("br"), h("time", { datetime: line.at }, formatDateTime(line.at))] : t("core.none")),
        h("td", { class: "rec-mine" }, mine.has(name) ? mine.get(name) || t("core.none") : h("span", { class: "muted" }, t("record.conflict.not_yours"))),
      ),
    );
    const onlyMine = [...mine.keys()].filter((name) => !theirs.has(name)).map(fieldLabel);
    const title = h("h2", { id: "conflict-title", tabindex: "-1" }, t("record.conflict.title"));
    const panel = h(
      "section",
      { class: "panel rec-conflict", id: "conflict", role: "alert", "aria-labelledby": "conflict-title", dataset: { currentVersion: current.version, loadedVersion: base.version } },
      title,
      h("p", null, t("record.conflict.text", { loaded: base.version, current: current.version })),
      rows.length
        ? h(
            "div",
            { class: "table-wrap" },
            h(
              "table",
              null,
              h(
                "thead",
                null,
                h("tr", null, h("th", { scope: "col" }, t("record.conflict.field")), h("th", { scope: "col" }, t("record.conflict.theirs")), h("th", { scope: "col" }, t("record.conflict.by")), h("th", { scope: "col" }, t("record.conflict.mine"))),
              ),
              h("tbody", null, rows),
            ),
          )
        : null,
      onlyMine.length ? h("p", null, t("record.conflict.only_mine", { fields: onlyMine.join(", ") })) : null,
      h(
        "div",
        { class: "actions" },
        h("button", { type: "button", class: "primary", id: "conflict-keep-mine", onclick: keepMine }, t("record.conflict.keep_mine", { version: current.version })),
        h("button", { type: "button", id: "conflict-take-theirs", onclick: takeTheirs }, t("record.conflict.take_theirs")),
      ),
    );
    replace(conflictSlot, panel);
    title.focus();
  }

  async function keepMine() {
    if (!conflict) return;
    // The form keeps what this person typed; it is saved on the version now on the server.
    record = conflict.current;
    const version = root.querySelector("#record-version");
    if (version) {
      version.textContent = String(record.version);
      version.dataset.version = String(record.version);
    }
    await save();
  }

  function takeTheirs() {
    if (!conflict) return;
    record = conflict.current;
    conflict = null;
    replace(conflictSlot);
    paint();
    timeline.reload();
    root.querySelector("#record-header h1")?.focus();
  }

  async function refresh() {
    try {
      record = await api.get(`/records/${id}`);
      paint();
      timeline.reload();
    } catch (error) {
      notice(problemText(error), "error");
    }
  }

  // ------------------------------------------------------------------ signed actions

  function blockedByDrafts() {
    if (!isDirty()) return false;
    notice(t("record.save_first"), "error");
    return true;
  }

  const dialogContext = () => ({ record, version: () => record.version, page: root, refresh });

  async function afterSigned(answer, message) {
    if (!answer) return;
    record = answer;
    conflict = null;
    replace(conflictSlot);
    paint();
    timeline.reload();
    notice(message, "success");
  }

  async function onClose() {
    if (blockedByDrafts()) return;
    const answer = await closeDialog(dialogContext());
    await afterSigned(answer, t("record.close.done", { number: record.report_number }));
    if (answer) document.getElementById("record-status")?.scrollIntoView({ block: "nearest" });
  }

  async function onReopen() {
    if (blockedByDrafts()) return;
    await afterSigned(await reopenDialog(dialogContext()), t("record.reopen.done", { number: record.report_number }));
  }

  async function onDelete() {
    if (blockedByDrafts()) return;
    const number = record.report_number;
    if (await deleteDialog(dialogContext())) {
      notice(t("record.delete.done", { number }), "success");
      navigate("/records");
    }
  }

  async function onCorrect(name, code, text) {
    if (blockedByDrafts()) return;
    const answer = await correctionDialog(dialogContext(), name, code, text, rules.text_max_length);
    await afterSigned(answer, t("record.correct.done"));
  }

  // ------------------------------------------------------------------ keyboard and leaving

  function onKey(event) {
    if ((event.ctrlKey || event.metaKey) && !event.altKey && event.key.toLowerCase() === "s") {
      if (document.querySelector("dialog[open]")) return;
      event.preventDefault();
      if (savebar) save();
    }
  }
  function onLeave(event) {
    if (!isDirty()) return;
    event.preventDefault();
    event.returnValue = "";
  }
  document.addEventListener("keydown", onKey);
  window.addEventListener("beforeunload", onLeave);
  const unguard = guardLeaving(() => (isDirty() ? t("record.leave_unsaved") : null));

  paint();
  return () => {
    document.removeEventListener("keydown", onKey);
    window.removeEventListener("beforeunload", onLeave);
    unguard();
  };
}
