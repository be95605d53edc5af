// Small pieces every page uses: notices, error panels, field rows with the API's message next to
// the field, pagers with totals, modal dialogs, status badges and catalog labels.

import { h, replace, uid } from "../dom.js";
import { formatNumber, hasKey, t } from "../i18n.js";

let region = null;

/** A short message read out by screen readers; errors stay until dismissed. */
export function notice(message, kind = "info") {
  if (!region) {
    region = h("div", { id: "notices", class: "notices", role: "status", "aria-live": "polite" });
    document.body.append(region);
  }
  const item = h(
    "div",
    { class: `notice ${kind}`, role: kind === "error" ? "alert" : null },
    h("span", null, message),
    h("button", { type: "button", class: "link", "aria-label": t("core.dismiss"), onclick: () => item.remove() }, "×"),
  );
  region.append(item);
  if (kind !== "error") setTimeout(() => item.remove(), 6000);
  return item;
}

export function errorPanel(title, detail, ...extra) {
  return h("section", { class: "panel error-panel", role: "alert" }, h("h1", null, title), detail ? h("p", null, detail) : null, ...extra);
}

/** What an API error means for the reader, in their language, with the server's detail. */
export function problemText(error) {
  const status = error?.status ?? 0;
  const known = [0, 400, 401, 403, 404, 409, 412, 422, 428, 429, 503];
  const key = known.includes(status) ? `core.error.${status}` : "core.error.other";
  const detail = error?.detail || error?.message || "";
  return detail ? `${t(key)} ${detail}` : t(key);
}

/**
 * A labelled field. `control` is the input (or a picker); `name` ties it to the API's field so
 * showErrors() can put the server's message under it.
 */
export function field({ label, control, name, hint, required = false, wide = false }) {
  const id = control.id || uid("field");
  const input = control.matches?.("input,select,textarea") ? control : control.querySelector?.("input,select,textarea");
  if (input && !input.id) input.id = id;
  const errorId = `${input?.id || id}-error`;
  if (input) input.setAttribute("aria-describedby", errorId);
  return h(
    "div",
    { class: ["field", wide && "wide"], dataset: { field: name || "" } },
    h("label", { for: input?.id || id }, label, required ? h("span", { class: "required", "aria-hidden": "true" }, " *") : null),
    control,
    hint ? h("small", { class: "hint" }, hint) : null,
    h("small", { class: "field-error", id: errorId, role: "alert", hidden: true }),
  );
}

// The API explains a refused value in English. The shapes it uses for the common cases are
// said here in the reader's language; any other message is shown as the API wrote it.
const MESSAGES = [
  [/^Expected `str` of length >= 1$|^this field is required|^required$|^Object missing required field/, () => t("core.msg.required")],
  [/^required to close the record$/, () => t("core.msg.required_to_close")],
  [/^Expected `str` of length >= (\d+)$/, (m) => t("core.msg.min_length", { count: m[1] })],
  [/^Expected `str` of length <= (\d+)$/, (m) => t("core.msg.max_length", { count: m[1] })],
  [/^Expected `(?:int|float|number|decimal)` >= (\S+)$/, (m) => t("core.msg.at_least", { value: m[1] })],
  [/^Expected `(?:int|float|number|decimal)` <= (\S+)$/, (m) => t("core.msg.at_most", { value: m[1] })],
  [/^Expected `(?:int|float|number|decimal)` > (\S+)$/, (m) => t("core.msg.more_than", { value: m[1] })],
  [/^Expected `(?:int|float|number|decimal)`/, () => t("core.msg.number")],
  [/^Invalid .*date|^Expected `date`/, () => t("core.msg.date")],
  [/^use at most 2 decimal places$/, () => t("core.msg.decimals")],
  [/^no ([a-z-]+) entry (\d+)$/, (m) => t("core.msg.no_entry", { catalog: catalogName(m[1]) })],
  [/^inactive: ([a-z-]+) entry (.+) is no longer in use$/, (m) => t("core.msg.inactive_entry", { catalog: catalogName(m[1]), number: m[2] })],
  [/^no user \d+$/, () => t("core.msg.no_user")],
  [/^inactive: user (\S+) is deactivated$/, (m) => t("core.msg.inactive_user", { username: m[1] })],
];

function catalogName(kind) {
  return hasKey(`catalog.${kind}`) ? t(`catalog.${kind}`) : kind;
}

/** An API message about a field, in the reader's language where its shape is known. */
export function fieldMessage(message) {
  const text = String(message ?? "");
  for (const [pattern, say] of MESSAGES) {
    const found = pattern.exec(text);
    if (found) return say(found);
  }
  return text;
}

/** Puts each {field, message} of an API error under its field; answers the messages left over. */
export function showErrors(container, error) {
  clearErrors(container);
  const left = [];
  for (const item of error?.errors || []) {
    const box = container.querySelector(`[data-field="${CSS.escape(item.field)}"]`);
    const slot = box?.querySelector(".field-error");
    if (slot) {
      slot.textContent = fieldMessage(item.message);
      // The API's own words stay one hover away, for a report to the maintainers.
      slot.title = item.message;
      slot.hidden = false;
      box.classList.add("invalid");
      box.querySelector("input,select,textarea")?.setAttribute("aria-invalid", "true");
    } else {
      left.push(`${item.field}: ${fieldMessage(item.message)}`);
    }
  }
  const first = container.querySelector(".field.invalid input, .field.invalid select, .field.invalid textarea");
  if (first) first.focus();
  return left;
}

export function clearErrors(container) {
  for (const box of container.querySelectorAll(".field.invalid")) {
    box.classList.remove("invalid");
    box.querySelector("[aria-invalid]")?.removeAttribute("aria-invalid");
  }
  for (const slot of container.querySelectorAll(".field-error")) {
    slot.textContent = "";
    slot.hidden = true;
  }
}

/** "1–50 of 1,234" with previous/next and the page size; onChange({page, page_size}). */
export function pager({ total, page, pageSize, onChange, sizes = [25, 50, 100, 200] }) {
  const pages = Math.max(1, Math.ceil(total / pageSize));
  const first = total ? (page - 1) * pageSize + 1 : 0;
  const last = Math.min(total, page * pageSize);
  return h(
    "nav",
    { class: "pager", "aria-label": t("core.pager.label") },
    h("span", { class: "pager-range" }, t("core.pager.range", { first: formatNumber(first), last: formatNumber(last), total: formatNumber(total) })),
    h("button", { type: "button", disabled: page <= 1, onclick: () => onChange({ page: page - 1, page_size: pageSize }) }, t("core.pager.previous")),
    h("span", null, t("core.pager.page", { page: formatNumber(page), pages: formatNumber(pages) })),
    h("button", { type: "button", disabled: page >= pages, onclick: () => onChange({ page: page + 1, page_size: pageSize }) }, t("core.pager.next")),
    h(
      "label",
      null,
      t("core.pager.size"),
      " ",
      h(
        "select",
        { onchange: (event) => onChange({ page: 1, page_size: Number(event.target.value) }) },
        sizes.map((size) => h("option", { value: size, selected: size === pageSize }, String(size))),
      ),
    ),
  );
}

/**
 * A modal dialog (the native <dialog>: focus stays inside, Escape closes). `build(close)` makes
 * its body; answers a promise of the value passed to close().
 */
export function dialog({ title, build, className }) {
  return new Promise((resolve) => {
    const box = h("dialog", { class: ["dialog", className], "aria-labelledby": uid("dialog") });
    const heading = h("h2", { id: box.getAttribute("aria-labelledby") }, title);
    const close = (value) => {
      box.close();
      box.remove();
      resolve(value);
    };
    box.addEventListener("cancel", (event) => {
      event.preventDefault();
      close(null);
    });
    replace(box, heading, build(close));
    document.body.append(box);
    box.showModal();
    const first = box.querySelector("input,select,textarea,button");
    if (first) first.focus();
  });
}

export function statusBadge(status) {
  return h("span", { class: `badge status-${status}`, dataset: { status } }, t(`status.${status}`));
}

/** "FC-02 - Process error" for a catalog entry, "ENG001 - Zhang Wei" for a user. */
export function entryLabel(entry) {
  if (!entry) return "";
  if (entry.username) return `${entry.username} - ${entry.full_name}`;
  if (entry.item_number) return entry.item_name ? `${entry.item_number} - ${entry.item_name}` : entry.item_number;
  return String(entry.id ?? "");
}

export function loading() {
  return h("p", { class: "loading", role: "status" }, t("core.loading"));
}
