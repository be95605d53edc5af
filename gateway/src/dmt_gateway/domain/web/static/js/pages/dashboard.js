// The record list: every filter of the API, sorting and paging, all kept in the address so a view
// can be bookmarked, shared and returned to with Back; counts per status, exports of what the
// filters hold, and charts of it. The list comes first; counts and charts never hold it up.

import { download, api } from "../api.js";
import { h, replace } from "../dom.js";
import { currentTimeZone, formatDate, formatDateTime, formatMoney, formatNumber, language, t } from "../i18n.js";
import { query, setQuery } from "../router.js";
import * as session from "../session.js";
import { catalogText, entryName } from "../widgets/picker.js";
import { clearErrors, notice, pager, problemText, statusBadge } from "../widgets/ui.js";
import { chartsSection } from "./dashboard-charts.js";
import { STATUSES, emptyFilters, filterForm, filterParams, readFilters } from "./dashboard-filters.js";

const DEFAULT_SORT = "created_at";
const DEFAULT_ORDER = "desc";
const DEFAULT_PAGE_SIZE = "50";
const PAGE_SIZES = [25, 50, 100, 200];
/** The direction a column sorts in at its first click: newest and largest first, names A to Z. */
const FIRST_ORDER = { created_at: "desc", updated_at: "desc", date: "desc", quantity: "desc", report_number: "asc", status: "asc" };

function readState() {
  const q = query();
  const sort = q.sort || DEFAULT_SORT;
  return {
    filters: readFilters(q),
    sort,
    order: q.order || (q.sort ? FIRST_ORDER[sort] || "asc" : DEFAULT_ORDER),
    page: q.page || "1",
    pageSize: q.page_size || DEFAULT_PAGE_SIZE,
    pareto: q.pareto === "cost" ? "cost" : "count",
  };
}

/** The state as the address writes it: defaults left out, so a plain list has a plain address. */
function addressOf(state) {
  const sorted = state.sort !== DEFAULT_SORT || state.order !== DEFAULT_ORDER;
  return {
    ...filterParams(state.filters),
    sort: sorted ? state.sort : undefined,
    order: sorted ? state.order : undefined,
    page: state.page !== "1" ? state.page : undefined,
    page_size: state.pageSize !== DEFAULT_PAGE_SIZE ? state.pageSize : undefined,
    pareto: state.pareto === "cost" ? "cost" : undefined,
  };
}

function entryCell(entry, id) {
  if (!entry) return id ? h("span", { class: "code" }, `#${id}`) : "";
  const name = entryName(entry);
  return [h("span", { class: "code", title: catalogText(entry) }, entry.item_number), name ? h("small", { class: "entry-name", title: name }, name) : null];
}

/** The total of the costs a record carries (scrap + other), as the cost filter counts it. */
function recordCost(record) {
  if (record.material_scrap_cost == null && record.other_cost == null) return "";
  return formatMoney(Number(record.material_scrap_cost || 0) + Number(record.other_cost || 0));
}

/**
 * A note when the defect description shown is not the reader's own: the original in another
 * language while its translation is pending or failed, or a machine's translation.
 */
function textFlag(record, fieldName) {
  const lang = language();
  const shown = record.text_languages?.[fieldName];
  const mine = record.texts?.[fieldName]?.values?.[lang];
  if (!shown) return null;
  if (shown !== lang) {
    const state = mine?.state === "failed" ? t("state.failed") : t("state.pending");
    const words = t("dashboard.text.original", { language: t(`lang.${shown}`), state });
    return h("span", { class: `text-flag ${mine?.state === "failed" ? "failed" : "pending"}`, title: words, dataset: { flag: "original" } }, h("span", { "aria-hidden": "true" }, shown.toUpperCase()), h("span", { class: "visually-hidden" }, words));
  }
  if (mine?.origin === "machine") {
    const words = t("origin.machine");
    return h("span", { class: "text-flag machine", title: words, dataset: { flag: "machine" } }, h("span", { "aria-hidden": "true" }, t("dashboard.text.machine_short")), h("span", { class: "visually-hidden" }, words));
  }
  return null;
}

const COLUMNS = [
  { sort: "report_number", label: () => t("field.report_number"), cell: (r) => h("a", { href: `/records/${r.id}`, class: "report-link" }, r.report_number), cls: "nowrap" },
  { sort: "status", label: () => t("field.status"), cell: (r) => statusBadge(r.status) },
  { sort: "date", label: () => t("field.date"), cell: (r) => formatDate(r.date), cls: "nowrap" },
  { label: () => t("field.part_number_id"), cell: (r) => entryCell(r.part_number, r.part_number_id), cls: "entry" },
  { label: () => t("field.work_center_id"), cell: (r) => entryCell(r.work_center, r.work_center_id), cls: "entry col-optional" },
  { label: () => t("field.customer_id"), cell: (r) => entryCell(r.customer, r.customer_id), cls: "entry col-optional" },
  { sort: "quantity", label: () => t("field.quantity"), cell: (r) => formatNumber(r.quantity), cls: "number" },
  {
    label: () => t("field.defect_description"),
    cell: (r) => [h("span", { class: "clip", title: r.defect_description || "" }, r.defect_description || ""), textFlag(r, "defect_description")],
    cls: "text-cell",
  },
  { label: () => t("field.failure_code_id"), cell: (r) => entryCell(r.failure_code, r.failure_code_id), cls: "entry" },
  { label: () => t("field.final_disposition_id"), cell: (r) => entryCell(r.final_disposition, r.final_disposition_id), cls: "entry col-tablet" },
  { label: () => t("field.total_cost"), cell: recordCost, cls: "number", title: () => t("dashboard.cost_title") },
  { sort: "created_at", label: () => t("field.created_at"), cell: (r) => formatDateTime(r.created_at), cls: "moment col-tablet" },
];

export async function render(root) {
  let state = readState();
  let disposed = false;
  let listTicket = 0;
  let countTicket = 0;
  let listed = false; // a table is on the page (reloads dim it rather than blank it)

  const commit = () => setQuery(addressOf(state));
  /** What lists, exports and charts are asked with: the filters and the reader's time zone for dates. */
  const apiFilters = (filters = state.filters) => ({ ...filterParams(filters), tz: currentTimeZone() });

  // --- head: title, counts per status, new record
  const role = session.role();
  const head = h(
    "div",
    { class: "dashboard-head" },
    h("h1", null, t("dashboard.title")),
    ["Inspector", "Admin"].includes(role) ? h("a", { href: "/records/new", id: "new-record", class: "button primary" }, t("dashboard.new_record")) : null,
  );

  const countButtons = Object.fromEntries(
    STATUSES.map((status) => [
      status,
      h(
        "button",
        { type: "button", id: `count-${status}`, class: `count status-${status}`, dataset: { status }, onclick: () => pickStatus(status) },
        h("span", { class: "count-number" }, "…"),
        h("span", { class: "count-label" }, t(`status.${status}`)),
      ),
    ]),
  );
  const counts = h("div", { class: "counts", role: "group", "aria-label": t("dashboard.counts.label") }, Object.values(countButtons));

  function markCounts() {
    const only = state.filters.status.length === 1 ? state.filters.status[0] : null;
    for (const [status, button] of Object.entries(countButtons)) button.setAttribute("aria-pressed", String(status === only));
  }

  // --- filters
  let form = null;
  const formSlot = h("div", { class: "filters-slot" });
  function buildForm() {
    form = filterForm({ filters: state.filters, onApply: applyFilters, onClear: clearFilters });
    replace(formSlot, form);
  }

  // --- results: total, exports, table, pager
  const total = h("p", { id: "records-total", class: "records-total", role: "status", tabindex: "-1" }, t("core.loading"));
  const exportButton = (kind, text) => h("button", { type: "button", id: `export-${kind}`, class: "export", onclick: (event) => exportFile(kind, event.currentTarget, text) }, text);
  const tools = h(
    "div",
    { class: "results-head" },
    total,
    h("div", { class: "export-tools", role: "group", "aria-label": t("dashboard.export.label") }, h("span", { class: "muted" }, t("dashboard.export.label")), exportButton("csv", "CSV"), exportButton("xlsx", "Excel")),
  );
  const listBox = h("div", { id: "records-list", class: "records-list", "aria-live": "polite" }, h("p", { class: "loading", role: "status" }, t("core.loading")));
  const pagerSlot = h("div", { class: "pager-slot" });
  const results = h("section", { class: "results", "aria-label": t("dashboard.results") }, tools, listBox, pagerSlot);

  const charts = chartsSection({
    measure: state.pareto,
    onMeasure: (measure) => {
      state.pareto = measure;
      setQuery(addressOf(state), { replace: true });
    },
  });

  root.append(h("div", { class: "dashboard" }, head, counts, formSlot, results, charts.element));
  buildForm();
  markCounts();

  function headerCell(column) {
    const label = column.label();
    if (!column.sort) return h("th", { scope: "col", class: column.cls, title: column.title?.() }, label);
    const active = state.sort === column.sort;
    const mark = active ? (state.order === "asc" ? "▲" : "▼") : "↕";
    return h(
      "th",
      { scope: "col", class: column.cls, "aria-sort": active ? (state.order === "asc" ? "ascending" : "descending") : null },
      h(
        "button",
        { type: "button", class: "sort", dataset: { sort: column.sort }, title: t("dashboard.sort_by", { field: label }), onclick: () => sortBy(column.sort) },
        label,
        h("span", { class: ["sort-mark", active && "active"], "aria-hidden": "true" }, mark),
      ),
    );
  }

  function table(answer) {
    const rows = answer.items.map((record) =>
      h(
        "tr",
        { dataset: { recordId: record.id, status: record.status } },
        COLUMNS.map((column, index) => h(index === 0 ? "th" : "td", { class: column.cls, scope: index === 0 ? "row" : null }, column.cell(record))),
      ),
    );
    let empty = null;
    if (!rows.length) {
      const past = answer.total > 0;
      empty = h(
        "tr",
        { class: "empty-row" },
        h(
          "td",
          { colspan: COLUMNS.length },
          past ? t("dashboard.past_last_page") : t("dashboard.no_records"),
          " ",
          past
            ? h("button", { type: "button", class: "link", id: "go-first-page", onclick: () => goToPage(1) }, t("dashboard.first_page"))
            : h("button", { type: "button", class: "link", onclick: () => clearFilters() }, t("dashboard.filter.clear")),
        ),
      );
    }
    return h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { id: "records-table", class: "records-table" },
        h("caption", { class: "visually-hidden" }, t("dashboard.table_caption")),
        h("thead", null, h("tr", null, COLUMNS.map(headerCell))),
        h("tbody", null, rows, empty),
      ),
    );
  }

  function showListError(error) {
    const left = form.placeErrors(error);
    listed = false;
    total.textContent = t("dashboard.total_unknown");
    delete total.dataset.total;
    replace(
      listBox,
      h(
        "div",
        { class: "notice-inline list-error", role: "alert", id: "records-error" },
        h("p", null, problemText(error)),
        left.length ? h("ul", null, left.map((line) => h("li", null, line))) : null,
        error.status === 400 ? h("p", null, h("button", { type: "button", class: "link", onclick: () => clearFilters() }, t("dashboard.filter.clear"))) : null,
      ),
    );
    replace(pagerSlot);
  }

  /** Loads the page of records the state asks for; answers whether it could. */
  async function loadList({ focus = null } = {}) {
    const ticket = ++listTicket;
    listBox.setAttribute("aria-busy", "true");
    if (listed) listBox.classList.add("is-loading");
    else replace(listBox, h("p", { class: "loading", role: "status" }, t("core.loading")));
    let answer;
    try {
      answer = await api.get("/records", { ...apiFilters(), sort: state.sort, order: state.order, page: state.page, page_size: state.pageSize });
    } catch (error) {
      if (disposed || ticket !== listTicket) return false;
      listBox.removeAttribute("aria-busy");
      listBox.classList.remove("is-loading");
      showListError(error);
      return false;
    }
    if (disposed || ticket !== listTicket) return false;
    listBox.removeAttribute("aria-busy");
    listBox.classList.remove("is-loading");
    clearErrors(form);
    listed = true;
    total.textContent = t("dashboard.total", { total: formatNumber(answer.total) });
    total.dataset.total = String(answer.total);
    replace(listBox, table(answer));
    const size = Number(answer.page_size) || Number(state.pageSize) || 50;
    const sizes = PAGE_SIZES.includes(size) ? PAGE_SIZES : [...PAGE_SIZES, size].sort((a, b) => a - b);
    replace(
      pagerSlot,
      answer.total > 0
        ? pager({
            total: answer.total,
            page: Number(answer.page) || 1,
            pageSize: size,
            sizes,
            onChange: ({ page, page_size }) => {
              state.page = String(page);
              state.pageSize = String(page_size);
              commit();
              loadList({ focus: "total" });
            },
          })
        : null,
    );
    if (focus === "total") total.focus({ preventScroll: false });
    else if (focus) listBox.querySelector(`button[data-sort="${focus}"]`)?.focus();
    return true;
  }

  /** The count per status for the other filters: one small list call each, side by side. */
  async function loadCounts() {
    const ticket = ++countTicket;
    const base = { ...apiFilters({ ...state.filters, status: [] }), page_size: 1 };
    for (const button of Object.values(countButtons)) button.classList.add("is-loading");
    await Promise.all(
      STATUSES.map(async (status) => {
        const button = countButtons[status];
        const number = button.querySelector(".count-number");
        try {
          const answer = await api.get("/records", { ...base, status: [status] });
          if (disposed || ticket !== countTicket) return;
          number.textContent = formatNumber(answer.total);
          button.dataset.total = String(answer.total);
          button.removeAttribute("title");
        } catch (error) {
          if (disposed || ticket !== countTicket) return;
          number.textContent = "—";
          delete button.dataset.total;
          button.title = problemText(error);
        } finally {
          if (ticket === countTicket) button.classList.remove("is-loading");
        }
      }),
    );
  }

  /** After a change of filters: the list first, then the charts; counts alongside. */
  function refresh() {
    markCounts();
    loadCounts();
    const listing = loadList();
    listing.then((ok) => {
      if (disposed) return;
      if (ok) charts.load(apiFilters());
      else charts.blocked();
    });
    return listing;
  }

  function applyFilters(filters) {
    state = { ...state, filters, page: "1" };
    commit();
    refresh();
  }

  function clearFilters() {
    state = { ...state, filters: emptyFilters(), page: "1" };
    commit();
    buildForm();
    refresh();
    form.querySelector("#filter-q")?.focus();
  }

  function pickStatus(status) {
    const only = state.filters.status.length === 1 && state.filters.status[0] === status;
    const filters = { ...state.filters, status: only ? [] : [status] };
    state = { ...state, filters, page: "1" };
    commit();
    for (const box of form.querySelectorAll('input[name="status"]')) box.checked = filters.status.includes(box.value);
    markCounts();
    const listing = loadList();
    listing.then((ok) => {
      if (disposed) return;
      if (ok) charts.load(apiFilters());
      else charts.blocked();
    });
  }

  function sortBy(field) {
    const order = state.sort === field ? (state.order === "asc" ? "desc" : "asc") : FIRST_ORDER[field] || "asc";
    state = { ...state, sort: field, order, page: "1" };
    commit();
    loadList({ focus: field });
  }

  function goToPage(page) {
    state = { ...state, page: String(page) };
    commit();
    loadList({ focus: "total" });
  }

  async function exportFile(kind, button, text) {
    if (button.getAttribute("aria-busy") === "true") return;
    button.setAttribute("aria-busy", "true");
    button.setAttribute("aria-disabled", "true");
    button.textContent = t("dashboard.export.busy", { format: text });
    try {
      const saved = await download(`/records/export.${kind}`, { ...apiFilters(), sort: state.sort, order: state.order, language: language() }, `dmt-records.${kind}`);
      if (saved.unresolved) notice(t("dashboard.export.unresolved", { services: saved.unresolved }), "error");
      else notice(t("dashboard.export.done", { name: saved.name }), "success");
    } catch (error) {
      notice(problemText(error), "error");
    } finally {
      button.removeAttribute("aria-busy");
      button.removeAttribute("aria-disabled");
      button.textContent = text;
    }
  }

  loadCounts();
  const first = await loadList();
  if (!disposed) {
    if (first) charts.load(apiFilters());
    else charts.blocked();
  }

  return () => {
    disposed = true;
    charts.dispose();
  };
}
