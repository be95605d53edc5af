// Pieces both administration pages use: the refusal shown to other roles, confirmation dialogs,
// the paged list (its state in the address, its search form, its table and the buttons of a row),
// the dialog around an add/edit form, and sending a change with a word about how it went.

import { h, replace } from "../dom.js";
import { t } from "../i18n.js";
import { query, setQuery } from "../router.js";
import * as session from "../session.js";
import { clearErrors, dialog, errorPanel, field, notice, pager, problemText, showErrors } from "../widgets/ui.js";

export const PAGE_SIZES = [25, 50, 100, 200];
export const DEFAULT_PAGE_SIZE = 50;

/** True for an Admin; for anyone else, puts the refusal on the page and answers false. */
export function adminOnly(root, text) {
  if (session.role() === "Admin") return true;
  const panel = errorPanel(t("admin.forbidden.title"), text, h("a", { href: "/records" }, t("core.back_to_list")));
  panel.id = "admin-forbidden";
  root.append(panel);
  return false;
}

/** Asks before something that cannot simply be undone; answers true when confirmed. */
export function confirmAction({ title, text, confirmLabel, danger = true, note = null }) {
  return dialog({
    title,
    className: "admin-confirm",
    build: (close) =>
      h(
        "div",
        null,
        h("p", null, text),
        note ? h("p", { class: "notice-inline" }, note) : null,
        h(
          "div",
          { class: "actions" },
          // Cancel comes first so that it has the focus when the dialog opens.
          h("button", { type: "button", id: "admin-confirm-cancel", onclick: () => close(false) }, t("core.cancel")),
          h("button", { type: "button", id: "admin-confirm", class: danger ? "danger" : "primary", onclick: () => close(true) }, confirmLabel),
        ),
      ),
  }).then(Boolean);
}

/** A column header that sorts the list: a button, with aria-sort telling the current order. */
export function sortHeader(label, name, state, onSort) {
  const current = state.sort === name;
  const next = current && state.order === "asc" ? "desc" : "asc";
  return h(
    "th",
    { scope: "col", "aria-sort": current ? (state.order === "asc" ? "ascending" : "descending") : "none" },
    h(
      "button",
      { type: "button", class: "sort", dataset: { sort: name }, onclick: () => onSort(name, next) },
      label,
      h("span", { class: "sort-mark", "aria-hidden": "true" }, current ? (state.order === "asc" ? "▲" : "▼") : "↕"),
    ),
  );
}

/** The All / Active / Inactive filter; value "" | "true" | "false". */
export function activeFilter(id, value, onChange) {
  return h(
    "select",
    { id, name: "is_active", onchange: (event) => onChange(event.target.value) },
    h("option", { value: "", selected: value === "" }, t("core.all")),
    h("option", { value: "true", selected: value === "true" }, t("admin.filter.active")),
    h("option", { value: "false", selected: value === "false" }, t("admin.filter.inactive")),
  );
}

export function activeBadge(active) {
  return h("span", { class: ["badge", active ? "admin-active" : "admin-inactive"] }, active ? t("admin.state.active") : t("admin.state.inactive"));
}

export function positiveInt(value, fallback) {
  const number = Number(value);
  return Number.isInteger(number) && number >= 1 && number <= 1_000_000 ? number : fallback;
}

export function pageSizeOf(value) {
  const number = Number(value);
  return PAGE_SIZES.includes(number) ? number : DEFAULT_PAGE_SIZE;
}

/** A message inside a form (for what showErrors could not place next to a field). */
export function formMessage() {
  return h("p", { class: "form-error", role: "alert", hidden: true });
}

export function say(slot, text) {
  slot.textContent = text || "";
  slot.hidden = !text;
}

/** Sends a change; then says `doneText` and runs `then`, or says why the API refused it. */
export async function sendChange(request, doneText, then) {
  try {
    await request();
    notice(doneText, "success");
    then();
  } catch (error) {
    notice(problemText(error), "error");
  }
}

/** Activates an entry, or deactivates it once `confirm` ({title, text, note}) is answered yes; as sendChange. */
export async function setActiveState(active, { confirm, request, done, then }) {
  if (!active) {
    const sure = await confirmAction({ ...confirm, confirmLabel: t("admin.deactivate") });
    if (!sure) return;
  }
  await sendChange(request, done, then);
}

// ---------------------------------------------------------------- the list

/** A list's search, filters, order and page, read from the address (see pagedList). */
function readListState({ sorts, qMax, own = () => ({}) }) {
  const q = query();
  return {
    q: (q.q || "").slice(0, qMax),
    ...own(q),
    active: q.active === "true" || q.active === "false" ? q.active : "",
    sort: sorts.includes(q.sort) ? q.sort : sorts[0],
    order: q.order === "desc" ? "desc" : "asc",
    page: positiveInt(q.page, 1),
    size: pageSizeOf(q.size),
  };
}

/** The API's query for the page a list's state names; a filter left empty is left out. */
function listQuery(state) {
  const { q, active, sort, order, page, size, ...own } = state;
  return {
    q: q || undefined,
    ...Object.fromEntries(Object.entries(own).map(([name, value]) => [name, value || undefined])),
    is_active: active || undefined,
    sort,
    order,
    page,
    page_size: size,
  };
}

/** Puts a list's state in the address, leaving out what is the default. */
function writeListState(state, sorts, replaceEntry) {
  const { sort, order, page, size, ...filters } = state;
  setQuery(
    {
      ...filters,
      sort: sort === sorts[0] ? "" : sort,
      order: order === "asc" ? "" : order,
      page: page > 1 ? page : "",
      size: size === DEFAULT_PAGE_SIZE ? "" : size,
    },
    { replace: replaceEntry },
  );
}

/**
 * A list shown a page at a time in `results`, its search, filters, order and page kept in the
 * address. `sorts` are the columns it may be sorted by, the first the default; `qMax` the longest
 * search; `own(query)` answers the page's own filters from the address ({role: "Admin"}).
 * `fetch(params)` asks the API for the page the state names (params: q, the page's own filters,
 * is_active, sort, order, page, page_size); `table(state)` answers how to draw it:
 * {id, caption, columns: [{label, sort?, class?}], row(item), empty}, and a last column holds each
 * row's buttons. While a page loads, `results` is aria-busy; an answer overtaken by a later load
 * is dropped; a failure is said in place of the table; a page past the end shows the last one.
 * Answers {state, load, change}: change(values, replaceEntry) sets part of the state, writes it
 * to the address (replacing the entry when asked) and loads again.
 */
export function pagedList({ sorts, qMax, own, results, fetch, table }) {
  const state = readListState({ sorts, qMax, own });
  let loads = 0;

  function change(values, replaceEntry = false) {
    Object.assign(state, values);
    writeListState(state, sorts, replaceEntry);
    return load();
  }

  function draw(answer) {
    const { id, caption, columns, row, empty } = table(state);
    return h(
      "table",
      { id, dataset: { total: answer.total } },
      h("caption", { class: "admin-caption" }, caption),
      h(
        "thead",
        null,
        h(
          "tr",
          null,
          columns.map((column) =>
            column.sort
              ? sortHeader(column.label, column.sort, state, (name, order) => change({ sort: name, order, page: 1 }))
              : h("th", { scope: "col", class: column.class }, column.label),
          ),
          h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, t("admin.actions"))),
        ),
      ),
      h(
        "tbody",
        null,
        answer.items.length ? answer.items.map(row) : h("tr", { class: "admin-empty" }, h("td", { colspan: columns.length + 1 }, empty)),
      ),
    );
  }

  async function load() {
    const ticket = ++loads;
    results.setAttribute("aria-busy", "true");
    let answer;
    try {
      answer = await fetch(listQuery(state));
    } catch (error) {
      if (ticket !== loads) return;
      results.removeAttribute("aria-busy");
      replace(results, h("p", { class: "form-error", role: "alert" }, problemText(error)));
      return;
    }
    if (ticket !== loads) return;
    const pages = Math.max(1, Math.ceil(answer.total / state.size));
    if (!answer.items.length && state.page > pages) {
      // The page asked for is past the end (entries were removed, or an old bookmark): show the last.
      state.page = pages;
      writeListState(state, sorts, true);
      load();
      return;
    }
    results.removeAttribute("aria-busy");
    replace(
      results,
      h("div", { class: "table-wrap" }, draw(answer)),
      pager({
        total: answer.total,
        page: state.page,
        pageSize: state.size,
        sizes: PAGE_SIZES,
        onChange: ({ page, page_size: size }) => change({ page, size }),
      }),
    );
  }

  return { state, load, change };
}

/**
 * The form above a list: the search box (typing searches after a pause, replacing the address
 * entry; Enter searches at once), the page's own filters ([{key, label, control}], a select whose
 * value is state[key]), the All / Active / Inactive filter and Clear. Any change goes back to the
 * first page. Answers the form; form.stop() drops a search still waiting for its pause.
 */
export function listFilters(list, { searchId, maxlength, placeholder, activeId, clearId, own = [] }) {
  let timer = null;
  const search = h("input", { id: searchId, type: "search", name: "q", value: list.state.q, maxlength, autocomplete: "off", placeholder });
  const searchNow = (replaceEntry) => {
    clearTimeout(timer);
    list.change({ q: search.value.trim(), page: 1 }, replaceEntry);
  };
  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => searchNow(true), 300);
  });
  search.addEventListener("keydown", (event) => {
    if (event.key !== "Enter") return;
    event.preventDefault();
    searchNow(false);
  });
  for (const { key, control } of own) control.addEventListener("change", () => list.change({ [key]: control.value, page: 1 }));
  const active = activeFilter(activeId, list.state.active, (value) => list.change({ active: value, page: 1 }));

  function clear() {
    search.value = "";
    for (const { control } of own) control.value = "";
    active.value = "";
    list.change({ q: "", ...Object.fromEntries(own.map(({ key }) => [key, ""])), active: "", page: 1 });
  }

  const form = h(
    "form",
    { class: "admin-filters", role: "search", onsubmit: (event) => event.preventDefault() },
    field({ label: t("core.search"), control: search, name: "q" }),
    own.map(({ key, label, control }) => field({ label, control, name: key })),
    field({ label: t("admin.filter.state"), control: active, name: "is_active" }),
    h("div", { class: "admin-filter-actions" }, h("button", { type: "button", id: clearId, onclick: clear }, t("core.clear"))),
  );
  form.stop = () => clearTimeout(timer);
  return form;
}

/** A button of a row that names the row for a screen reader ("Edit FC-02"). */
export function rowButton(action, text, name, onclick, className = null) {
  return h("button", { type: "button", class: className, dataset: { action }, "aria-label": `${text} ${name}`, onclick }, text);
}

/** A row's buttons: Edit, Deactivate or Activate, and the page's own (`more`). */
export function rowActions(name, { active, onEdit, onActive }, ...more) {
  return h(
    "td",
    { class: "admin-row-actions" },
    h(
      "div",
      null,
      rowButton("edit", t("core.edit"), name, onEdit),
      active ? rowButton("deactivate", t("admin.deactivate"), name, () => onActive(false)) : rowButton("activate", t("admin.activate"), name, () => onActive(true)),
      more,
    ),
  );
}

// ---------------------------------------------------------------- add and edit

/** What `values` change in `before` (a field `before` lacks counts as null). */
function changesTo(before, values) {
  return Object.fromEntries(Object.entries(values).filter(([name, value]) => value !== (before[name] ?? null)));
}

/**
 * Sends a new entry (`before` null) whole with create(values), an existing one's changes with
 * update(changes); with nothing changed, sends nothing and answers `before`.
 */
export function saveChanges(before, values, { create, update }) {
  if (!before) return create(values);
  const changes = changesTo(before, values);
  return Object.keys(changes).length ? update(changes) : before;
}

/**
 * A dialog around a form: `fields`, a line for what cannot stand next to a field, Save and Cancel
 * (which closes with `cancelValue`). On Save, `read()` takes the values, `check(values)` answers
 * the problems to show under their fields (nothing is sent while there are any), and
 * `send(values)` answers (or promises) what the dialog closes with. A refusal is shown in the form,
 * as `explain(error, values)` words it when the page has its own words for it.
 */
export function formDialog({ title, formId, saveId, saveLabel = t("core.save"), cancelValue = null, fields, read, check = () => [], send, explain = (error) => error }) {
  return dialog({
    title,
    className: "admin-dialog",
    build: (close) => {
      const message = formMessage();
      const save = h("button", { type: "submit", id: saveId, class: "primary" }, saveLabel);
      const form = h(
        "form",
        { id: formId, novalidate: true },
        fields,
        message,
        h("div", { class: "actions" }, save, h("button", { type: "button", onclick: () => close(cancelValue) }, t("core.cancel"))),
      );
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        clearErrors(form);
        say(message, "");
        const values = read();
        const problems = check(values);
        if (problems.length) {
          showErrors(form, { errors: problems });
          return;
        }
        save.disabled = true;
        try {
          close(await send(values));
        } catch (error) {
          save.disabled = false;
          const shown = explain(error, values);
          const left = showErrors(form, shown);
          if (left.length || !shown.errors?.length) say(message, problemText(error));
        }
      });
      return form;
    },
  });
}
