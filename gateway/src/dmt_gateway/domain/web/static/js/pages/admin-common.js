// Pieces both administration pages use: the refusal shown to other roles, confirmation dialogs,
// sortable column headers, the active/inactive filter, and reading list state from the address.

import { h } from "../dom.js";
import { t } from "../i18n.js";
import * as session from "../session.js";
import { dialog, errorPanel } from "../widgets/ui.js";

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
