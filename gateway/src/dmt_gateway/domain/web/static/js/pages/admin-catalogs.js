// The eleven catalogs (Admin): browse one with search, filter, sorting and pages (all kept in the
// address), add and edit entries, deactivate, activate or delete them, and import a CSV file row by
// row through the same API, with a report of the rows the API refused.

import { api } from "../api.js";
import { h, replace } from "../dom.js";
import { formatNumber, t } from "../i18n.js";
import { dialog, errorPanel, field, notice, problemText } from "../widgets/ui.js";
import { activeBadge, adminOnly, confirmAction, formDialog, listFilters, pagedList, rowActions, rowButton, saveChanges, sendChange, setActiveState } from "./admin-common.js";
import { readCatalogCsv, saveCsv, toCsv } from "./admin-csv.js";

const DEFAULT_KIND = "part-numbers";
const SORTS = ["item_number", "item_name", "updated_at"];
/** How many rows of an import are on their way to the API at once. */
const CONCURRENCY = 4;
const NUMBER_MAX = 64;
const NAME_MAX = 255;

function label(entry) {
  return entry.item_name ? `${entry.item_number} - ${entry.item_name}` : entry.item_number;
}

/** The short, localized reason an import row was refused, next to the API's own words. */
function reasonOf(error) {
  const first = error.errors?.[0];
  const message = first?.message || error.detail || error.message || "";
  let kind;
  if (error.status === 409) kind = t("admin.import.reason.duplicate");
  else if (error.status === 0 || error.status >= 500) kind = t("admin.import.reason.unavailable");
  else if (/required|blank|length >= 1/.test(message)) kind = first?.field === "item_number" ? t("admin.import.reason.no_number") : t("admin.import.reason.no_name");
  else if (/length <=/.test(message)) kind = t("admin.import.reason.too_long");
  else kind = t("admin.import.reason.refused");
  const detail = error.detail || message;
  return { kind, detail };
}

function csvErrorText(error) {
  if (error.code === "empty") return t("admin.import.error.empty");
  if (error.code === "unterminated") return t("admin.import.error.unterminated", { line: error.line });
  if (error.code === "repeated-column") return t("admin.import.error.repeated", { columns: error.columns.join(", ") });
  return t("admin.import.error.columns", { columns: error.columns.join(", ") });
}

export async function render(root, { params }) {
  if (!adminOnly(root, t("admin.forbidden.catalogs"))) return undefined;

  let kinds = (await api.get("/catalogs")).items;
  const kind = params.kind || DEFAULT_KIND;
  const title = () => t(`catalog.${kind}`);
  if (!kinds.some((item) => item.kind === kind)) {
    root.append(errorPanel(t("admin.catalogs.unknown"), kind, h("a", { href: `/admin/catalogs/${DEFAULT_KIND}` }, t("admin.catalogs.back"))));
    return undefined;
  }

  let importRun = null;

  // ---------------------------------------------------------------- the catalogs, with counts
  const kindList = h("ul", { class: "admin-kinds-list" });
  const kindNav = h("nav", { id: "catalog-kinds", class: "admin-kinds", "aria-label": t("admin.catalogs.list") }, kindList);
  const counts = h("p", { class: "muted", id: "catalog-counts" });

  function drawKinds() {
    replace(
      kindList,
      kinds.map((item) =>
        h(
          "li",
          null,
          h(
            "a",
            {
              href: `/admin/catalogs/${item.kind}`,
              dataset: { kind: item.kind },
              class: item.kind === kind ? "active" : null,
              "aria-current": item.kind === kind ? "page" : null,
              title: t("admin.catalogs.counts", { active: formatNumber(item.active), total: formatNumber(item.total) }),
            },
            h("span", null, t(`catalog.${item.kind}`)),
            h("span", { class: "admin-count", dataset: { total: item.total } }, formatNumber(item.total)),
          ),
        ),
      ),
    );
    const mine = kinds.find((item) => item.kind === kind);
    counts.textContent = mine ? t("admin.catalogs.counts", { active: formatNumber(mine.active), total: formatNumber(mine.total) }) : "";
  }

  async function refreshKinds() {
    try {
      kinds = (await api.get("/catalogs")).items;
      drawKinds();
    } catch {
      /* the counts stay as they were; the table says what failed */
    }
  }

  // ---------------------------------------------------------------- the list
  const results = h("div", { id: "catalog-results", class: "admin-results" });
  const list = pagedList({
    sorts: SORTS,
    qMax: 255,
    results,
    fetch: (params) => api.get(`/catalogs/${kind}`, params),
    table: (state) => ({
      id: "catalog-table",
      caption: t("admin.catalogs.caption", { catalog: title() }),
      columns: [
        { label: t("admin.catalogs.item_number"), sort: "item_number" },
        { label: t("admin.catalogs.item_name"), sort: "item_name" },
        { label: t("admin.catalogs.item_name_es") },
        { label: t("admin.catalogs.item_name_zh") },
        { label: t("admin.state.label") },
      ],
      row: rowFor,
      empty: state.q || state.active ? t("admin.catalogs.none_found") : t("admin.catalogs.empty"),
    }),
  });
  const filters = listFilters(list, {
    searchId: "catalog-q",
    maxlength: 255,
    placeholder: t("admin.catalogs.search_hint"),
    activeId: "catalog-active",
    clearId: "catalog-clear",
  });

  function rowFor(entry) {
    const number = entry.item_number;
    return h(
      "tr",
      { dataset: { entryId: entry.id, active: String(entry.is_active) }, class: entry.is_active ? null : "admin-row-inactive" },
      h("td", { class: "admin-code" }, number),
      h("td", null, entry.item_name),
      h("td", { lang: "es" }, entry.item_name_es || ""),
      h("td", { lang: "zh-CN" }, entry.item_name_zh || ""),
      h("td", null, activeBadge(entry.is_active)),
      rowActions(
        number,
        { active: entry.is_active, onEdit: () => editEntry(entry), onActive: (active) => setActive(entry, active) },
        rowButton("delete", t("admin.delete"), number, () => removeEntry(entry), "admin-delete"),
      ),
    );
  }

  function refresh() {
    list.load();
    refreshKinds();
  }

  // ---------------------------------------------------------------- add and edit
  async function editEntry(entry) {
    const isNew = !entry;
    const inputs = {
      item_number: h("input", { name: "item_number", value: entry?.item_number ?? "", maxlength: NUMBER_MAX, required: true, autocomplete: "off", spellcheck: "false" }),
      item_name: h("input", { name: "item_name", value: entry?.item_name ?? "", maxlength: NAME_MAX, required: true, autocomplete: "off" }),
      item_name_es: h("input", { name: "item_name_es", lang: "es", value: entry?.item_name_es ?? "", maxlength: NAME_MAX, autocomplete: "off" }),
      item_name_zh: h("input", { name: "item_name_zh", lang: "zh-CN", value: entry?.item_name_zh ?? "", maxlength: NAME_MAX, autocomplete: "off" }),
    };
    const saved = await formDialog({
      title: isNew ? t("admin.catalogs.add_title", { catalog: title() }) : t("admin.catalogs.edit_title", { entry: entry.item_number }),
      formId: "catalog-form",
      saveId: "catalog-save",
      fields: h(
        "div",
        { class: "admin-form-grid" },
        field({ label: t("admin.catalogs.item_number"), control: inputs.item_number, name: "item_number", required: true, hint: t("admin.catalogs.item_number_hint") }),
        field({ label: t("admin.catalogs.item_name"), control: inputs.item_name, name: "item_name", required: true }),
        field({ label: t("admin.catalogs.item_name_es"), control: inputs.item_name_es, name: "item_name_es" }),
        field({ label: t("admin.catalogs.item_name_zh"), control: inputs.item_name_zh, name: "item_name_zh" }),
      ),
      read: () => Object.fromEntries(Object.entries(inputs).map(([name, input]) => [name, input.value.trim()])),
      check: (values) => ["item_number", "item_name"].filter((name) => !values[name]).map((name) => ({ field: name, message: t("admin.required") })),
      send: (values) =>
        saveChanges(
          entry,
          { ...values, item_name_es: values.item_name_es || null, item_name_zh: values.item_name_zh || null },
          { create: (body) => api.post(`/catalogs/${kind}`, body), update: (changes) => api.patch(`/catalogs/${kind}/${entry.id}`, changes) },
        ),
      explain: (error, values) =>
        error.status === 409 && error.about?.("item_number")
          ? { errors: [{ field: "item_number", message: t("admin.catalogs.duplicate", { number: values.item_number, catalog: title() }) }] }
          : error,
    });
    if (!saved) return;
    notice(isNew ? t("admin.catalogs.added", { entry: saved.item_number }) : t("core.saved"), "success");
    refresh();
  }

  // ---------------------------------------------------------------- active, delete
  function setActive(entry, active) {
    return setActiveState(active, {
      confirm: { title: t("admin.catalogs.deactivate_title"), text: t("admin.catalogs.deactivate_text", { entry: label(entry) }) },
      request: () => api.patch(`/catalogs/${kind}/${entry.id}`, { is_active: active }),
      done: active ? t("admin.catalogs.activated", { entry: entry.item_number }) : t("admin.catalogs.deactivated", { entry: entry.item_number }),
      then: refresh,
    });
  }

  async function removeEntry(entry) {
    const sure = await confirmAction({
      title: t("admin.catalogs.delete_title"),
      text: t("admin.catalogs.delete_text", { entry: label(entry) }),
      confirmLabel: t("admin.delete"),
    });
    if (!sure) return;
    try {
      await api.delete(`/catalogs/${kind}/${entry.id}`);
      notice(t("admin.catalogs.deleted", { entry: entry.item_number }), "success");
      refresh();
    } catch (error) {
      if (error.status !== 409) {
        notice(problemText(error), "error");
        return;
      }
      const count = Number(error.body?.records);
      const instead = await dialog({
        title: t("admin.catalogs.in_use_title"),
        className: "admin-confirm",
        build: (close) =>
          h(
            "div",
            { id: "catalog-in-use" },
            h("p", null, Number.isFinite(count) ? t("admin.catalogs.in_use", { entry: label(entry), count: formatNumber(count) }) : `${t("admin.catalogs.in_use_unknown", { entry: label(entry) })} ${error.detail}`),
            entry.is_active ? h("p", null, t("admin.catalogs.in_use_hint")) : null,
            h(
              "div",
              { class: "actions" },
              h("button", { type: "button", onclick: () => close(false) }, t("core.close")),
              entry.is_active ? h("button", { type: "button", id: "catalog-deactivate-instead", class: "primary", onclick: () => close(true) }, t("admin.catalogs.deactivate_instead")) : null,
            ),
          ),
      });
      if (instead) await sendChange(() => api.patch(`/catalogs/${kind}/${entry.id}`, { is_active: false }), t("admin.catalogs.deactivated", { entry: entry.item_number }), refresh);
    }
  }

  // ---------------------------------------------------------------- CSV import
  const importer = importSection();

  function importSection() {
    let parsed = null;
    const fileInput = h("input", { type: "file", id: "catalog-import-file", name: "file", accept: ".csv,text/csv" });
    const update = h("input", { type: "checkbox", id: "catalog-import-update", name: "update_existing" });
    const preview = h("div", { id: "catalog-import-preview", class: "admin-import-preview", "aria-live": "polite" });
    const start = h("button", { type: "button", id: "catalog-import-start", class: "primary", disabled: true }, t("admin.import.start"));
    const progress = h("progress", { id: "catalog-import-progress", max: 1, value: 0 });
    const count = h("span", { id: "catalog-import-count", "aria-live": "polite" });
    const cancel = h("button", { type: "button", id: "catalog-import-cancel" }, t("core.cancel"));
    const status = h("div", { id: "catalog-import-status", class: "admin-import-status", hidden: true }, h("label", { for: "catalog-import-progress" }, t("admin.import.progress_label")), progress, count, cancel);
    const report = h("div", { id: "catalog-import-report", class: "admin-import-report", hidden: true, tabindex: -1 });

    fileInput.addEventListener("change", async () => {
      parsed = null;
      start.disabled = true;
      report.hidden = true;
      const file = fileInput.files?.[0];
      if (!file) {
        replace(preview);
        return;
      }
      let text;
      try {
        text = new TextDecoder("utf-8", { fatal: true }).decode(await file.arrayBuffer());
      } catch {
        replace(preview, h("p", { class: "form-error", role: "alert" }, t("admin.import.error.encoding")));
        return;
      }
      const result = readCatalogCsv(text);
      if (result.error || !result.rows.length) {
        replace(preview, h("p", { class: "form-error", role: "alert" }, result.error ? csvErrorText(result.error) : t("admin.import.error.no_rows")));
        return;
      }
      parsed = { ...result, fileName: file.name };
      const sample = result.rows.slice(0, 5);
      replace(
        preview,
        h("p", { id: "catalog-import-summary-preview", dataset: { rows: result.rows.length } }, t("admin.import.preview", { count: formatNumber(result.rows.length), file: file.name, catalog: title() })),
        result.ignored.length ? h("p", { class: "muted" }, t("admin.import.ignored", { columns: result.ignored.join(", ") })) : null,
        h(
          "div",
          { class: "table-wrap" },
          h(
            "table",
            { class: "admin-sample" },
            h("caption", { class: "admin-caption" }, t("admin.import.sample", { count: sample.length })),
            h(
              "thead",
              null,
              h(
                "tr",
                null,
                h("th", { scope: "col" }, t("admin.import.line")),
                h("th", { scope: "col" }, t("admin.catalogs.item_number")),
                h("th", { scope: "col" }, t("admin.catalogs.item_name")),
                h("th", { scope: "col" }, t("admin.catalogs.item_name_es")),
                h("th", { scope: "col" }, t("admin.catalogs.item_name_zh")),
              ),
            ),
            h(
              "tbody",
              null,
              sample.map((row) => h("tr", null, h("td", { class: "number" }, String(row.line)), h("td", null, row.item_number), h("td", null, row.item_name), h("td", { lang: "es" }, row.item_name_es), h("td", { lang: "zh-CN" }, row.item_name_zh))),
            ),
          ),
        ),
      );
      start.disabled = false;
    });

    async function sendRow(row, updateExisting) {
      const body = {};
      for (const name of ["item_number", "item_name", "item_name_es", "item_name_zh"]) {
        // A blank cell is left out: the API then names the missing field instead of a length.
        if (row[name].trim()) body[name] = row[name];
      }
      try {
        await api.post(`/catalogs/${kind}`, body);
        return { outcome: "created" };
      } catch (error) {
        if (error.status === 401) throw error;
        if (error.status === 409 && updateExisting && body.item_number) {
          try {
            const key = body.item_number.trim().toLowerCase();
            const found = await api.get(`/catalogs/${kind}`, { q: body.item_number.trim(), page_size: 200 });
            const entry = found.items.find((item) => item.item_number.toLowerCase() === key);
            if (entry) {
              const changes = {};
              for (const name of ["item_name", "item_name_es", "item_name_zh"]) if (name in body) changes[name] = body[name];
              if (Object.keys(changes).length) await api.patch(`/catalogs/${kind}/${entry.id}`, changes);
              return { outcome: "updated" };
            }
          } catch (second) {
            if (second.status === 401) throw second;
            return { outcome: "rejected", error: second };
          }
        }
        return { outcome: "rejected", error };
      }
    }

    async function run() {
      if (!parsed?.rows || importRun) return;
      const rows = parsed.rows;
      const total = rows.length;
      const updateExisting = update.checked;
      const run = { cancelled: false };
      importRun = run;
      const tally = { created: 0, updated: 0, rejected: [] };
      let next = 0;
      let done = 0;
      const busy = new Map();

      fileInput.disabled = true;
      update.disabled = true;
      start.disabled = true;
      cancel.disabled = false;
      report.hidden = true;
      status.hidden = false;
      progress.max = total;
      progress.value = 0;
      count.textContent = t("admin.import.count", { done: formatNumber(0), total: formatNumber(total) });
      window.addEventListener("beforeunload", warnLeaving);

      async function worker() {
        while (!run.cancelled && next < total) {
          const row = rows[next];
          next += 1;
          // Two lines with one code go one after the other, so the later one is the one refused.
          const key = row.item_number.trim().toLowerCase();
          const before = key ? busy.get(key) : null;
          const task = (before || Promise.resolve()).then(() => sendRow(row, updateExisting));
          if (key) busy.set(key, task.catch(() => null));
          let result;
          try {
            result = await task;
          } catch (error) {
            // The sign-in ended: stop here, the page is going to the sign-in form.
            run.cancelled = true;
            result = { outcome: "rejected", error };
          }
          if (result.outcome === "created") tally.created += 1;
          else if (result.outcome === "updated") tally.updated += 1;
          else tally.rejected.push({ row, ...reasonOf(result.error) });
          done += 1;
          progress.value = done;
          count.textContent = t("admin.import.count", { done: formatNumber(done), total: formatNumber(total) });
        }
      }
      await Promise.all(Array.from({ length: Math.min(CONCURRENCY, total) }, worker));

      window.removeEventListener("beforeunload", warnLeaving);
      importRun = null;
      // Every row a worker took was answered; the ones no worker took were never sent.
      const notSent = rows.slice(next);
      tally.rejected.sort((a, b) => a.row.line - b.row.line);
      cancel.disabled = true;
      fileInput.disabled = false;
      update.disabled = false;
      showReport(tally, notSent, run.cancelled, total);
      // The same rows are not sent twice by a second click: a file is chosen again for that.
      fileInput.value = "";
      parsed = { fileName: parsed.fileName };
      replace(preview);
      refresh();
    }

    function warnLeaving(event) {
      event.preventDefault();
      event.returnValue = "";
    }

    function showReport(tally, notSent, cancelled, total) {
      const rejected = tally.rejected;
      const fileBase = (parsed?.fileName || kind).replace(/\.csv$/i, "");
      const download = () => {
        const lines = [["line", "item_number", "item_name", "item_name_es", "item_name_zh", "reason"]];
        for (const item of rejected) lines.push([item.row.line, item.row.item_number, item.row.item_name, item.row.item_name_es, item.row.item_name_zh, `${item.kind}: ${item.detail}`]);
        for (const row of notSent) lines.push([row.line, row.item_number, row.item_name, row.item_name_es, row.item_name_zh, t("admin.import.not_sent_reason")]);
        saveCsv(toCsv(lines), `${fileBase}-rejected.csv`);
      };
      replace(
        report,
        h("h3", null, t("admin.import.report_title")),
        h(
          "p",
          {
            id: "catalog-import-summary",
            dataset: { total, created: tally.created, updated: tally.updated, rejected: rejected.length, notSent: notSent.length },
          },
          t("admin.import.summary", { created: formatNumber(tally.created), updated: formatNumber(tally.updated), rejected: formatNumber(rejected.length), total: formatNumber(total) }),
        ),
        cancelled ? h("p", { class: "notice-inline" }, t("admin.import.cancelled", { count: formatNumber(notSent.length) })) : null,
        rejected.length
          ? h(
              "div",
              { class: "table-wrap" },
              h(
                "table",
                { id: "catalog-import-rejected" },
                h("caption", { class: "admin-caption" }, t("admin.import.rejected_caption")),
                h(
                  "thead",
                  null,
                  h("tr", null, h("th", { scope: "col", class: "number" }, t("admin.import.line")), h("th", { scope: "col" }, t("admin.catalogs.item_number")), h("th", { scope: "col" }, t("admin.import.reason"))),
                ),
                h(
                  "tbody",
                  null,
                  rejected.map((item) =>
                    h(
                      "tr",
                      { dataset: { line: item.row.line } },
                      h("td", { class: "number" }, String(item.row.line)),
                      h("td", { class: "admin-code" }, item.row.item_number),
                      h("td", null, h("strong", null, item.kind), h("span", { class: "admin-reason-detail" }, item.detail)),
                    ),
                  ),
                ),
              ),
            )
          : null,
        rejected.length || notSent.length
          ? h("div", { class: "actions" }, h("button", { type: "button", id: "catalog-import-download", onclick: download }, t("admin.import.download")))
          : null,
      );
      report.hidden = false;
      report.focus({ preventScroll: false });
    }

    start.addEventListener("click", run);
    cancel.addEventListener("click", () => {
      if (!importRun) return;
      importRun.cancelled = true;
      cancel.disabled = true;
      count.textContent = `${count.textContent} · ${t("admin.import.cancelling")}`;
    });

    const section = h(
      "section",
      { id: "catalog-import", class: "panel admin-import", "aria-labelledby": "catalog-import-title" },
      h("h2", { id: "catalog-import-title" }, t("admin.import.title", { catalog: title() })),
      h("p", { class: "muted" }, t("admin.import.intro")),
      h(
        "div",
        { class: "admin-import-controls" },
        field({ label: t("admin.import.file"), control: fileInput, name: "file", hint: t("admin.import.columns") }),
        h("div", { class: "admin-check" }, update, h("label", { for: "catalog-import-update" }, t("admin.import.update_existing"))),
      ),
      preview,
      h("div", { class: "actions" }, start),
      status,
      report,
    );
    section.stop = () => {
      if (importRun) importRun.cancelled = true;
    };
    return section;
  }

  // ---------------------------------------------------------------- the page
  drawKinds();
  root.append(
    h("h1", null, t("admin.catalogs.title")),
    h(
      "div",
      { class: "admin-layout" },
      kindNav,
      h(
        "div",
        { class: "admin-content" },
        h(
          "section",
          { class: "panel", id: "catalog-browser", "aria-labelledby": "catalog-title" },
          h(
            "div",
            { class: "admin-heading" },
            h("div", null, h("h2", { id: "catalog-title" }, title()), counts),
            h("button", { type: "button", id: "catalog-add", class: "primary", onclick: () => editEntry(null) }, t("admin.catalogs.add")),
          ),
          filters,
          results,
        ),
        importer,
      ),
    ),
  );
  await list.load();

  return () => {
    filters.stop();
    importer.stop();
  };
}
