// The record list's filter form: every filter the API has, the common ones in view and the rest
// behind "More filters". Each field carries the name of its API parameter, so the API's message
// about a bad value (one typed, or one that came in a bookmarked address) lands next to it.

import { api } from "../api.js";
import { h } from "../dom.js";
import { currentTimeZone, formatNumber, t } from "../i18n.js";
import { catalogPicker, userPicker } from "../widgets/picker.js";
import { CATALOG_OF } from "./record-model.js";
import { field, showErrors } from "../widgets/ui.js";

export const STATUSES = ["open", "in_analysis", "dispositioned", "closed", "reopened"];

/** Catalog id filters, in the order shown: the API parameter and the catalog it names. The first four are always in view. */
const CATALOG_FILTERS = [
  "part_number_id",
  "work_center_id",
  "customer_id",
  "failure_code_id",
  "level_id",
  "area_id",
  "prepared_by_id",
  "inspection_item_id",
  "process_code_id",
  "final_disposition_id",
].map((name) => ({ name, kind: CATALOG_OF[name] }));
const USER_FILTERS = ["created_by_id", "engineer_id", "analysis_by_id", "disposition_approved_by_id"];
const ID_FILTERS = [...CATALOG_FILTERS.map((f) => f.name), ...USER_FILTERS];
const VALUE_FILTERS = [
  "q",
  "is_closed",
  "date_from",
  "date_to",
  "created_from",
  "created_to",
  "closed_from",
  "closed_to",
  "quantity_min",
  "quantity_max",
  "cost_min",
  "cost_max",
];
/** The filters shown without opening "More filters". */
const COMMON = new Set(["q", "status", "part_number_id", "work_center_id", "customer_id", "failure_code_id", "date_from", "date_to"]);

function split(text) {
  return String(text || "")
    .split(",")
    .map((part) => part.trim())
    .filter(Boolean);
}

export function emptyFilters() {
  const filters = { status: [] };
  for (const name of ID_FILTERS) filters[name] = [];
  for (const name of VALUE_FILTERS) filters[name] = "";
  return filters;
}

/** The filters of an address's query, kept as written: the API judges them, not the page. */
export function readFilters(query) {
  const filters = emptyFilters();
  filters.status = split(query.status);
  for (const name of ID_FILTERS) filters[name] = split(query[name]);
  for (const name of VALUE_FILTERS) filters[name] = (query[name] ?? "").trim();
  return filters;
}

/** The filters as query parameters (empty ones left out by the callers' query builders). */
export function filterParams(filters) {
  const params = {};
  for (const [name, value] of Object.entries(filters)) {
    if (Array.isArray(value) ? value.length : value !== "") params[name] = value;
  }
  return params;
}

function isSet(value) {
  return Array.isArray(value) ? value.length > 0 : value !== "";
}

function moreCount(filters) {
  return Object.entries(filters).filter(([name, value]) => !COMMON.has(name) && isSet(value)).length;
}

/** The chosen entry of an id filter, looked up so the picker shows its label rather than a number. */
async function lookUp(path, raw, unknown) {
  const id = Number(raw);
  if (!Number.isInteger(id) || id < 1) return unknown(raw);
  try {
    return await api.get(`${path}/${id}`);
  } catch {
    return unknown(raw);
  }
}

/**
 * The form. `onApply(filters)` on submit, `onClear()` for "Clear filters". The answer has
 * `placeErrors(apiError)` (answers the messages no field took) and `clearErrors()`.
 */
export function filterForm({ filters, onApply, onClear }) {
  const controls = {};
  const pickers = {};
  const extra = {}; // ids beyond the first of a comma list from the address, kept until the picker changes

  const text = (name, attrs) => {
    controls[name] = h("input", { id: `filter-${name}`, name, value: filters[name], ...attrs });
    return controls[name];
  };

  const q = text("q", { type: "search", maxlength: 200, autocomplete: "off", enterkeyhint: "search" });

  const statusBoxes = STATUSES.map((status) =>
    h(
      "label",
      { class: "check" },
      h("input", { type: "checkbox", id: `filter-status-${status}`, name: "status", value: status, checked: filters.status.includes(status) }),
      " ",
      t(`status.${status}`),
    ),
  );
  const statusField = h(
    "div",
    { class: "field status-field", dataset: { field: "status" } },
    h("fieldset", { "aria-describedby": "filter-status-error" }, h("legend", null, t("field.status")), h("div", { class: "checks" }, statusBoxes)),
    h("small", { class: "field-error", id: "filter-status-error", role: "alert", hidden: true }),
  );

  function idPicker(name, make) {
    const ids = filters[name];
    extra[name] = ids.slice(1);
    const box = make();
    pickers[name] = { box, first: ids[0] ?? null, touched: false };
    const hint = extra[name].length ? t("dashboard.filter.and_more", { count: formatNumber(extra[name].length) }) : null;
    return field({ label: t(`field.${name}`), control: box, name, hint });
  }

  const catalogField = ({ name, kind }) =>
    idPicker(name, () =>
      catalogPicker({
        kind,
        activeOnly: false,
        id: `filter-${name}`,
        onChange: () => {
          pickers[name].touched = true;
        },
      }),
    );
  const userField = (name) =>
    idPicker(name, () =>
      userPicker({
        activeOnly: false,
        id: `filter-${name}`,
        onChange: () => {
          pickers[name].touched = true;
        },
      }),
    );
  const catalogFields = Object.fromEntries(CATALOG_FILTERS.map((item) => [item.name, catalogField(item)]));

  const date = (name) => text(name, { type: "date" });
  const zoneHint = t("dashboard.filter.zone_hint", { zone: currentTimeZone() });
  const isClosed = h(
    "select",
    { id: "filter-is_closed", name: "is_closed" },
    h("option", { value: "", selected: filters.is_closed === "" }, t("core.all")),
    h("option", { value: "true", selected: filters.is_closed === "true" }, t("core.yes")),
    h("option", { value: "false", selected: filters.is_closed === "false" }, t("core.no")),
  );
  controls.is_closed = isClosed;

  const more = moreCount(filters);
  const moreSummary = h("summary", null, t("dashboard.filter.more"), more ? h("span", { class: "more-count" }, ` (${t("dashboard.filter.set_count", { count: formatNumber(more) })})`) : null);
  const details = h(
    "details",
    { id: "filters-more", class: "filters-more", open: more > 0 },
    moreSummary,
    h(
      "div",
      { class: "form-grid" },
      field({ label: t("field.is_closed"), control: isClosed, name: "is_closed" }),
      CATALOG_FILTERS.slice(4).map((item) => catalogFields[item.name]),
      USER_FILTERS.map((name) => userField(name)),
      field({ label: t("dashboard.filter.created_from"), control: date("created_from"), name: "created_from", hint: zoneHint }),
      field({ label: t("dashboard.filter.created_to"), control: date("created_to"), name: "created_to", hint: zoneHint }),
      field({ label: t("dashboard.filter.closed_from"), control: date("closed_from"), name: "closed_from", hint: zoneHint }),
      field({ label: t("dashboard.filter.closed_to"), control: date("closed_to"), name: "closed_to", hint: zoneHint }),
      field({ label: t("dashboard.filter.quantity_min"), control: text("quantity_min", { type: "number", min: 0, step: 1, inputmode: "numeric" }), name: "quantity_min" }),
      field({ label: t("dashboard.filter.quantity_max"), control: text("quantity_max", { type: "number", min: 0, step: 1, inputmode: "numeric" }), name: "quantity_max" }),
      field({
        label: t("dashboard.filter.cost_min"),
        control: text("cost_min", { type: "number", min: 0, step: "0.01", inputmode: "decimal" }),
        name: "cost_min",
        hint: t("dashboard.filter.cost_hint"),
      }),
      field({
        label: t("dashboard.filter.cost_max"),
        control: text("cost_max", { type: "number", min: 0, step: "0.01", inputmode: "decimal" }),
        name: "cost_max",
        hint: t("dashboard.filter.cost_hint"),
      }),
    ),
  );

  const form = h(
    "form",
    { id: "filters", class: "panel filters", role: "search", "aria-label": t("dashboard.filter.label"), novalidate: true },
    h(
      "div",
      { class: "filters-common" },
      field({ label: t("dashboard.filter.q"), control: q, name: "q", hint: t("dashboard.filter.q_hint"), wide: true }),
      statusField,
      h(
        "div",
        { class: "form-grid" },
        CATALOG_FILTERS.slice(0, 4).map((item) => catalogFields[item.name]),
        field({ label: t("dashboard.filter.date_from"), control: date("date_from"), name: "date_from" }),
        field({ label: t("dashboard.filter.date_to"), control: date("date_to"), name: "date_to" }),
      ),
    ),
    details,
    h(
      "div",
      { class: "actions" },
      h("button", { type: "submit", id: "filters-apply", class: "primary" }, t("dashboard.filter.apply")),
      h("button", { type: "button", id: "filters-clear", onclick: () => onClear() }, t("dashboard.filter.clear")),
    ),
  );

  function read() {
    const next = emptyFilters();
    next.status = STATUSES.filter((status) => form.querySelector(`#filter-status-${status}`).checked);
    for (const name of VALUE_FILTERS) next[name] = String(controls[name].value ?? "").trim();
    for (const name of ID_FILTERS) {
      const { box, first, touched } = pickers[name];
      const chosen = box.value();
      if (!touched && first !== null) next[name] = [first, ...extra[name]];
      else next[name] = chosen ? [String(chosen.id), ...(String(chosen.id) === first ? extra[name] : [])] : [];
    }
    return next;
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    onApply(read());
  });

  // Pickers show the label of an id that came in the address once it is looked up.
  const unknownEntry = (raw) => ({ id: raw, item_number: `#${raw}`, item_name: t("dashboard.filter.not_found") });
  const unknownUser = (raw) => ({ id: raw, username: `#${raw}`, full_name: t("dashboard.filter.not_found") });
  for (const { name, kind } of CATALOG_FILTERS) {
    const { first } = pickers[name];
    if (first !== null) {
      lookUp(`/catalogs/${kind}`, first, unknownEntry).then((entry) => {
        if (!pickers[name].touched && document.activeElement !== pickers[name].box.input) pickers[name].box.set(entry);
      });
    }
  }
  for (const name of USER_FILTERS) {
    const { first } = pickers[name];
    if (first !== null) {
      lookUp("/users", first, unknownUser).then((user) => {
        if (!pickers[name].touched && document.activeElement !== pickers[name].box.input) pickers[name].box.set(user);
      });
    }
  }

  form.placeErrors = (error) => {
    const left = showErrors(form, error);
    const first = form.querySelector(".field.invalid input, .field.invalid select");
    if (first && details.contains(first) && !details.open) {
      details.open = true;
      first.focus();
    }
    return left;
  };
  return form;
}
