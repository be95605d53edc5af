// A new record (Inspector, Admin): sections 1 and 2 of the form, the required fields marked.
// The texts are written in the reader's language; the server translates them into the others.

import { api } from "../api.js";
import { h } from "../dom.js";
import { language, t, today } from "../i18n.js";
import { navigate } from "../router.js";
import * as session from "../session.js";
import { clearErrors, errorPanel, notice, problemText, showErrors } from "../widgets/ui.js";
import { editor } from "./record-fields.js";
import { loadRules } from "./record-model.js";

/** The prepared-by entry named after the signed-in user, when the catalog has one. */
async function preparedByMe() {
  const user = session.user();
  if (!user) return null;
  try {
    const answer = await api.get("/catalogs/prepared-by", { q: user.username, is_active: "true", page_size: 5 });
    return answer.items.find((entry) => entry.item_number === user.username) || null;
  } catch {
    return null;
  }
}

export async function render(root) {
  const rules = await loadRules();
  const role = session.role();
  document.title = `DMT · ${t("record.new.title")}`;
  if (!rules.create_roles.includes(role)) {
    root.append(
      errorPanel(
        t("record.new.title"),
        t("record.new.not_allowed", { role: t(`role.${role}`), roles: rules.create_roles.map((r) => t(`role.${r}`)).join(", ") }),
        h("p", null, h("a", { href: "/records", id: "record-back" }, t("core.back_to_list"))),
      ),
    );
    root.querySelector(".error-panel").id = "record-new-forbidden";
    return null;
  }

  const preparedBy = await preparedByMe();
  const start = { date: today(), prepared_by_id: preparedBy?.id ?? null, prepared_by: preparedBy, texts: {}, text_languages: {} };
  const required = new Set(rules.required_at_creation);
  const editors = [];
  const sections = [1, 2].map((number) => {
    const fields = rules.sections[String(number)].map((name) => {
      const one = editor(name, start, rules, { required: required.has(name) });
      editors.push(one);
      return one.element;
    });
    return h(
      "fieldset",
      { class: "panel rec-section", dataset: { section: number, editable: "true" }, id: `section-${number}` },
      h("legend", null, t(`section.${number}`)),
      h("div", { class: "form-grid" }, fields),
    );
  });
  const message = h("p", { class: "form-error", id: "record-new-error", role: "alert", hidden: true });
  const submit = h("button", { type: "submit", class: "primary", id: "create-record" }, t("record.new.submit"));
  const formElement = h(
    "form",
    { id: "record-new-form", novalidate: true },
    h("p", { class: "muted" }, t("record.new.intro", { language: t(`lang.${language()}`) }), " ", h("span", { class: "required", "aria-hidden": "true" }, "*"), " ", t("record.new.required")),
    sections,
    message,
    h("div", { class: "actions rec-create-actions" }, submit, h("a", { href: "/records", class: "button" }, t("core.cancel"))),
  );

  formElement.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(formElement);
    message.hidden = true;
    const problems = [];
    const body = { language: language() };
    for (const one of editors) {
      const complaint = one.check();
      const value = one.value();
      if (complaint) problems.push({ field: one.field, message: complaint });
      else if (required.has(one.field) && value === null) problems.push({ field: one.field, message: t("record.error.required") });
      else if (value !== null) body[one.field] = value;
    }
    if (problems.length) {
      showErrors(formElement, { errors: problems });
      message.textContent = t("record.error.check_fields", { count: problems.length });
      message.hidden = false;
      return;
    }
    submit.disabled = true;
    try {
      const created = await api.post("/records", body);
      notice(t("record.new.created", { number: created.report_number }), "success");
      navigate(`/records/${created.id}`, { replace: true });
    } catch (error) {
      const left = showErrors(formElement, error);
      message.textContent = [problemText(error), ...left].join(" ");
      message.hidden = false;
    } finally {
      submit.disabled = false;
    }
  });

  root.append(h("h1", null, t("record.new.title")), formElement);
  return null;
}
