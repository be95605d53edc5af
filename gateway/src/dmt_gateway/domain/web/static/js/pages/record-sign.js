// Closing and reopening a record are electronic signatures (21 CFR 11.50, 11.200): the dialog
// says what the signature means before the password is typed again. Deleting takes a reason.
// Correcting a translation is a small dialog of its own.

import { api } from "../api.js";
import { h } from "../dom.js";
import { t, today } from "../i18n.js";
import * as session from "../session.js";
import { userPicker } from "../widgets/picker.js";
import { clearErrors, dialog, field, problemText, showErrors } from "../widgets/ui.js";
import { fieldLabel } from "./record-model.js";

const REASON_MAX = 2000;

function me() {
  const user = session.user();
  return user ? { id: user.id, username: user.username, full_name: user.full_name } : null;
}

function signerLine() {
  const user = session.user();
  return h("p", { class: "muted", id: "sign-signer" }, t("record.sign.as", { name: user?.full_name || "", role: user ? t(`role.${user.role}`) : "" }));
}

function passwordInput() {
  return h("input", { id: "sign-password", name: "password", type: "password", autocomplete: "current-password", required: true, maxlength: 256 });
}

function reasonInput() {
  return h("textarea", { id: "sign-reason", name: "reason", rows: 3, required: true, maxlength: REASON_MAX });
}

/**
 * The refusal of a signed action, in the dialog: a wrong password at the password, what is
 * missing to close next to each field (in the dialog and on the page), anything else as a line.
 */
function explain(error, { form, message, page, password }) {
  clearErrors(form);
  message.hidden = false;
  if (error.status === 403 && error.about("password") !== null) {
    showErrors(form, { errors: [{ field: "password", message: t("record.sign.wrong_password") }] });
    password.value = "";
    password.focus();
    message.hidden = true;
    return;
  }
  if (error.status === 429) {
    message.textContent = t("record.sign.locked", { seconds: error.retryAfter || "60" });
    return;
  }
  if (error.status === 422 && error.errors.length) {
    if (page) showErrors(page, error);
    showErrors(form, error);
    const missing = error.errors.map((item) => fieldLabel(item.field));
    message.textContent = t("record.close.missing", { fields: missing.join(", ") });
    return;
  }
  if (error.status === 400 && error.errors.length) {
    const left = showErrors(form, error);
    message.textContent = left.length ? `${problemText(error)} ${left.join("; ")}` : problemText(error);
    return;
  }
  message.textContent = error.status === 412 ? t("record.sign.stale") : problemText(error);
}

function form(children, onSubmit) {
  const element = h("form", { id: "sign-form", class: "rec-sign-form", novalidate: true }, children);
  element.addEventListener("submit", (event) => {
    event.preventDefault();
    onSubmit();
  });
  return element;
}

function buttons(submitText, close, danger = false) {
  return h(
    "div",
    { class: "actions" },
    h("button", { type: "submit", id: "sign-submit", class: danger ? "danger" : "primary" }, submitText),
    h("button", { type: "button", id: "sign-cancel", onclick: () => close(null) }, t("core.cancel")),
  );
}

/** Something the browser can check before asking the server: a required box left empty. */
function missing(box, form) {
  if (box.value.trim()) return false;
  showErrors(form, { errors: [{ field: box.name, message: t("record.error.required") }] });
  return true;
}

/**
 * Close with a signature. ctx: {record, version(), page, refresh()}: refresh() loads the current
 * record after a refusal that shows it changed. Answers the closed record, or null.
 */
export function closeDialog(ctx) {
  const { record } = ctx;
  return dialog({
    title: t("record.close.title", { number: record.report_number }),
    className: "rec-sign-dialog",
    build(close) {
      const date = h("input", { id: "sign-approval-date", name: "disposition_approval_date", type: "date", value: record.disposition_approval_date || today(), required: true });
      const approver = userPicker({
        id: "sign-approved-by",
        role: "Quality Engineer,Admin",
        value: record.disposition_approved_by || me(),
        required: true,
        label: fieldLabel("disposition_approved_by_id"),
      });
      approver.input.name = "disposition_approved_by_id";
      const sdr = h("input", { id: "sign-sdr", name: "sdr_number", type: "text", maxlength: 64, value: record.sdr_number || "" });
      const password = passwordInput();
      const message = h("p", { id: "sign-error", class: "form-error", role: "alert", hidden: true });
      let busy = false;
      const element = form(
        [
          h("p", { class: "rec-sign-meaning", id: "sign-meaning" }, h("strong", null, t("record.close.meaning"))),
          signerLine(),
          h(
            "div",
            { class: "form-grid" },
            field({ label: fieldLabel("disposition_approval_date"), control: date, name: "disposition_approval_date", required: true }),
            field({ label: fieldLabel("disposition_approved_by_id"), control: approver, name: "disposition_approved_by_id", required: true }),
            field({ label: fieldLabel("sdr_number"), control: sdr, name: "sdr_number" }),
          ),
          field({ label: t("record.sign.password"), control: password, name: "password", required: true, hint: t("record.sign.password_hint") }),
          message,
          buttons(t("record.close.submit"), close),
        ],
        async () => {
          if (busy) return;
          clearErrors(element);
          message.hidden = true;
          if (missing(password, element)) return;
          if (!date.value) {
            showErrors(element, { errors: [{ field: "disposition_approval_date", message: t("record.error.required") }] });
            return;
          }
          busy = true;
          try {
            const body = {
              password: password.value,
              disposition_approval_date: date.value,
              disposition_approved_by_id: approver.value()?.id ?? null,
              sdr_number: sdr.value.trim() || null,
            };
            close(await api.post(`/records/${record.id}/close`, body, { version: ctx.version() }));
          } catch (error) {
            explain(error, { form: element, message, page: ctx.page, password });
            if (error.status === 412 || error.status === 409) await ctx.refresh();
          } finally {
            busy = false;
          }
        },
      );
      queueMicrotask(() => password.focus());
      return element;
    },
  });
}

/** Reopen with a signature and a reason. Answers the reopened record, or null. */
export function reopenDialog(ctx) {
  const { record } = ctx;
  return dialog({
    title: t("record.reopen.title", { number: record.report_number }),
    className: "rec-sign-dialog",
    build(close) {
      const reason = reasonInput();
      const password = passwordInput();
      const message = h("p", { id: "sign-error", class: "form-error", role: "alert", hidden: true });
      let busy = false;
      const element = form(
        [
          h("p", { class: "rec-sign-meaning", id: "sign-meaning" }, h("strong", null, t("record.reopen.meaning"))),
          signerLine(),
          field({ label: t("record.reason"), control: reason, name: "reason", required: true, hint: t("record.reopen.reason_hint") }),
          field({ label: t("record.sign.password"), control: password, name: "password", required: true, hint: t("record.sign.password_hint") }),
          message,
          buttons(t("record.reopen.submit"), close),
        ],
        async () => {
          if (busy) return;
          clearErrors(element);
          message.hidden = true;
          if (missing(reason, element) || missing(password, element)) return;
          busy = true;
          try {
            close(await api.post(`/records/${record.id}/reopen`, { password: password.value, reason: reason.value.trim() }, { version: ctx.version() }));
          } catch (error) {
            explain(error, { form: element, message, page: null, password });
            if (error.status === 412 || error.status === 409) await ctx.refresh();
          } finally {
            busy = false;
          }
        },
      );
      return element;
    },
  });
}

/** Delete (Admin) with a reason. Answers true once deleted, or null. */
export function deleteDialog(ctx) {
  const { record } = ctx;
  return dialog({
    title: t("record.delete.title", { number: record.report_number }),
    className: "rec-sign-dialog",
    build(close) {
      const reason = reasonInput();
      const message = h("p", { id: "sign-error", class: "form-error", role: "alert", hidden: true });
      let busy = false;
      const element = form(
        [
          h("p", { class: "rec-sign-meaning", id: "sign-meaning" }, h("strong", null, t("record.delete.meaning"))),
          field({ label: t("record.reason"), control: reason, name: "reason", required: true }),
          message,
          buttons(t("record.delete.submit"), close, true),
        ],
        async () => {
          if (busy) return;
          clearErrors(element);
          message.hidden = true;
          if (missing(reason, element)) return;
          busy = true;
          try {
            await api.delete(`/records/${record.id}`, { reason: reason.value.trim() }, { version: ctx.version() });
            close(true);
          } catch (error) {
            explain(error, { form: element, message, page: null, password: reason });
            if (error.status === 412) await ctx.refresh();
          } finally {
            busy = false;
          }
        },
      );
      return element;
    },
  });
}

/** A person's translation of one text into `language`. Answers the record, or null. */
export function correctionDialog(ctx, name, language, text, maxLength) {
  const { record } = ctx;
  return dialog({
    title: t("record.correct.title", { field: fieldLabel(name), language: t(`lang.${language}`) }),
    className: "rec-sign-dialog",
    build(close) {
      const box = h("textarea", { id: "correct-text", name: "text", rows: 5, maxlength: maxLength, lang: language, required: true, value: text });
      const message = h("p", { id: "correct-error", class: "form-error", role: "alert", hidden: true });
      const original = record.texts?.[name];
      const element = h(
        "form",
        { id: "correct-form", novalidate: true },
        original
          ? h(
              "div",
              { class: "rec-text-original" },
              h("span", { class: "rec-label" }, t("record.text.original_label", { language: t(`lang.${original.source_language}`) })),
              h("p", { lang: original.source_language }, original.values?.[original.source_language]?.text || ""),
            )
          : null,
        field({ label: t("record.correct.label", { language: t(`lang.${language}`) }), control: box, name: "text", required: true, hint: t("record.correct.hint") }),
        message,
        h(
          "div",
          { class: "actions" },
          h("button", { type: "submit", id: "correct-save", class: "primary" }, t("core.save")),
          h("button", { type: "button", onclick: () => close(null) }, t("core.cancel")),
        ),
      );
      element.addEventListener("submit", async (event) => {
        event.preventDefault();
        clearErrors(element);
        message.hidden = true;
        if (missing(box, element)) return;
        try {
          close(await api.put(`/records/${record.id}/texts/${name}/${language}`, { text: box.value }, { version: ctx.version() }));
        } catch (error) {
          const left = showErrors(element, error);
          message.textContent = error.status === 412 ? t("record.sign.stale") : [problemText(error), ...left].join(" ");
          message.hidden = false;
          if (error.status === 412) await ctx.refresh();
        }
      });
      return element;
    },
  });
}
