// The printed forms of a record at /records/{id}/print/{tag|mrb|car}: a toolbar for the screen
// (the three forms, Letter or A4, the language, Print) above a sheet laid out for paper. The
// browser prints it (and saves it as a PDF from its print dialog); the toolbar does not print.

import { api } from "../api.js";
import { h } from "../dom.js";
import { LANGUAGES, LANGUAGE_NAMES, formatDateTime, language, t } from "../i18n.js";
import { changeLanguage } from "../main.js";
import { errorPanel, problemText } from "../widgets/ui.js";
import { car, mrb, tag } from "./print-forms.js";
import { label3 } from "./print-parts.js";

const FORMS = {
  tag: { build: tag, label: () => t("print.form.tag"), title: "DMT-001" },
  mrb: { build: mrb, label: () => t("print.form.mrb"), title: "MRB" },
  car: { build: car, label: () => t("print.form.car"), title: "CAR" },
};

const PAPER_KEY = "dmt.print.paper";
const PAPERS = ["letter", "a4"];
const PAPER_LINK_ID = "print-paper-css";

/** The paper chosen before, else Letter where it is the usual size (the Americas), else A4. */
function storedPaper() {
  const stored = localStorage.getItem(PAPER_KEY);
  if (PAPERS.includes(stored)) return stored;
  const region = (navigator.language || "").split("-")[1]?.toUpperCase();
  return ["US", "CA", "MX", "PH", "CO", "VE", "CL"].includes(region) ? "letter" : "a4";
}

/**
 * Swaps the stylesheet that sets @page (CSP forbids style attributes, not our own sheets). The
 * page says which paper is chosen (data-paper) and, once its sheet has loaded, data-paper-loaded.
 */
function usePaper(paper, page) {
  let link = document.getElementById(PAPER_LINK_ID);
  if (!link) {
    link = h("link", { rel: "stylesheet", id: PAPER_LINK_ID });
    link.addEventListener("load", () => {
      const loaded = PAPERS.find((name) => link.getAttribute("href").endsWith(`/paper-${name}.css`));
      const shown = document.querySelector(".print-page");
      if (shown && loaded) shown.dataset.paperLoaded = loaded;
    });
    document.head.append(link);
  }
  const href = `/ui/css/paper-${paper}.css`;
  page.dataset.paper = paper;
  if (link.getAttribute("href") !== href) {
    delete page.dataset.paperLoaded;
    link.setAttribute("href", href);
  } else if (link.sheet) {
    page.dataset.paperLoaded = paper;
  }
  for (const button of document.querySelectorAll("[data-paper-choice]")) {
    button.setAttribute("aria-pressed", button.dataset.paperChoice === paper ? "true" : "false");
  }
}

function toolbar(record, form, page) {
  const paper = storedPaper();
  const choose = (choice) => {
    localStorage.setItem(PAPER_KEY, choice);
    usePaper(choice, page);
  };
  const formLinks = Object.entries(FORMS).map(([name, item]) =>
    h(
      "a",
      {
        href: `/records/${record.id}/print/${name}`,
        id: `print-form-${name}`,
        class: ["button", name === form && "current"],
        "aria-current": name === form ? "page" : null,
      },
      item.label(),
    ),
  );
  const paperButton = (choice, key) =>
    h(
      "button",
      { type: "button", id: `paper-${choice}`, dataset: { paperChoice: choice }, "aria-pressed": choice === paper ? "true" : "false", onclick: () => choose(choice) },
      t(key),
    );
  return h(
    "nav",
    { class: "print-toolbar", id: "print-toolbar", "aria-label": t("print.toolbar") },
    h("a", { href: `/records/${record.id}`, id: "print-back", class: "print-back" }, `← ${t("print.back", { number: record.report_number })}`),
    h("div", { class: "print-tools" }, h("div", { class: "tool-group", role: "group", "aria-label": t("print.forms") }, formLinks)),
    h(
      "div",
      { class: "print-tools" },
      h("div", { class: "tool-group", role: "group", "aria-label": t("print.paper") }, h("span", { class: "tool-label", "aria-hidden": "true" }, t("print.paper")), paperButton("letter", "print.paper.letter"), paperButton("a4", "print.paper.a4")),
      h(
        "select",
        { id: "print-language", "aria-label": t("core.language"), onchange: (event) => changeLanguage(event.target.value) },
        LANGUAGES.map((code) => h("option", { value: code, selected: code === language() }, LANGUAGE_NAMES[code])),
      ),
      h("button", { type: "button", id: "print-button", class: "primary", onclick: () => window.print() }, t("print.print")),
    ),
    h("p", { class: "print-hint", id: "print-hint" }, t("print.hint")),
  );
}

/** What goes at the foot of every printed page: which record, which version, printed when. */
function footer(record, form) {
  return h(
    "footer",
    { class: "print-footer", id: "print-footer", dataset: { version: String(record.version) } },
    h("span", { class: "foot-item" }, h("strong", null, record.report_number), ` · ${FORMS[form].title}`),
    h("span", { class: "foot-item" }, label3("field.version"), ": ", h("strong", { dataset: { printField: "version" } }, String(record.version))),
    h("span", { class: "foot-item" }, label3("print.printed_at"), ": ", h("span", { id: "print-printed-at" }, formatDateTime(new Date().toISOString()))),
  );
}

export async function render(root, ctx) {
  const form = FORMS[ctx.params.form] ? ctx.params.form : "tag";
  let record;
  try {
    record = await api.get(`/records/${ctx.params.id}`);
  } catch (error) {
    if (error?.status === 401) throw error;
    root.append(errorPanel(t("print.not_shown"), problemText(error), h("a", { href: `/records/${ctx.params.id}` }, t("print.back_plain")), " ", h("a", { href: "/records" }, t("core.back_to_list"))));
    return null;
  }

  document.title = `${record.report_number} ${FORMS[form].title}`;
  const page = h("article", { class: ["print-page", `form-${form}`, !record.is_closed && "not-approved"], dataset: { form, recordId: String(record.id), closed: record.is_closed ? "true" : "false" }, "aria-labelledby": "print-title" });
  const bar = toolbar(record, form, page);
  page.append(
    h(
      "div",
      { class: "print-sheet" },
      // A table whose footer group repeats on each printed page keeps room for the fixed footer.
      h(
        "div",
        { class: "print-frame" },
        h("div", { class: "print-frame-body" }, h("div", { class: "print-frame-row" }, h("div", { class: "print-frame-cell" }, FORMS[form].build(record)))),
        h("div", { class: "print-frame-foot", "aria-hidden": "true" }, h("div", { class: "print-frame-row" }, h("div", { class: "print-frame-cell print-foot-space" }))),
      ),
      footer(record, form),
    ),
  );
  usePaper(storedPaper(), page);
  root.append(bar, page);
  return () => document.getElementById(PAPER_LINK_ID)?.remove();
}
