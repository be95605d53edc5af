// The signed-in user's own profile: name, email, language, time zone and password.

import { api } from "../api.js";
import { h } from "../dom.js";
import { LANGUAGES, LANGUAGE_NAMES, setLanguage, setTimeZone, t } from "../i18n.js";
import * as session from "../session.js";
import { clearErrors, field, notice, problemText, showErrors } from "../widgets/ui.js";

function zones() {
  try {
    return Intl.supportedValuesOf("timeZone");
  } catch {
    return ["UTC", "America/Mexico_City", "America/Chicago", "America/New_York", "Europe/Madrid", "Asia/Shanghai"];
  }
}

export async function render(root, { rerender }) {
  const me = await api.get("/auth/me");
  const fullName = h("input", { name: "full_name", value: me.full_name, required: true, maxlength: 120 });
  const email = h("input", { name: "email", type: "email", value: me.email || "" });
  const language = h("select", { name: "language" }, LANGUAGES.map((code) => h("option", { value: code, selected: code === me.language }, LANGUAGE_NAMES[code])));
  const zoneList = zones();
  if (!zoneList.includes(me.time_zone)) zoneList.unshift(me.time_zone);
  const zone = h("select", { name: "time_zone" }, zoneList.map((z) => h("option", { value: z, selected: z === me.time_zone }, z)));
  const profileForm = h(
    "form",
    { id: "profile-form" },
    h(
      "div",
      { class: "form-grid" },
      field({ label: t("core.profile.full_name"), control: fullName, name: "full_name", required: true }),
      field({ label: t("core.profile.email"), control: email, name: "email" }),
      field({ label: t("core.language"), control: language, name: "language" }),
      field({ label: t("core.profile.time_zone"), control: zone, name: "time_zone", hint: t("core.profile.time_zone_hint") }),
    ),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, t("core.save"))),
  );
  profileForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(profileForm);
    try {
      const saved = await api.patch("/auth/me", { full_name: fullName.value.trim(), email: email.value.trim() || null, language: language.value, time_zone: zone.value });
      session.updateUser({ full_name: saved.full_name, language: saved.language, time_zone: saved.time_zone });
      setLanguage(saved.language);
      setTimeZone(saved.time_zone);
      notice(t("core.saved"), "success");
      rerender();
    } catch (error) {
      const left = showErrors(profileForm, error);
      if (left.length || !error.errors.length) notice(problemText(error), "error");
    }
  });

  const current = h("input", { name: "current_password", type: "password", autocomplete: "current-password", required: true });
  const next = h("input", { name: "password", type: "password", autocomplete: "new-password", required: true, minlength: 8 });
  const passwordForm = h(
    "form",
    { id: "password-form" },
    h(
      "div",
      { class: "form-grid" },
      field({ label: t("core.profile.current_password"), control: current, name: "current_password", required: true }),
      field({ label: t("core.profile.new_password"), control: next, name: "password", required: true }),
    ),
    h("div", { class: "actions" }, h("button", { type: "submit" }, t("core.profile.password_title"))),
  );
  passwordForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(passwordForm);
    try {
      await api.patch("/auth/me", { current_password: current.value, password: next.value });
      current.value = "";
      next.value = "";
      notice(t("core.profile.password_changed"), "success");
    } catch (error) {
      const left = showErrors(passwordForm, error);
      if (left.length || !error.errors.length) notice(problemText(error), "error");
    }
  });

  root.append(
    h("h1", null, t("core.profile.title")),
    h("section", { class: "panel" }, h("p", null, h("strong", null, me.username), " · ", t("core.profile.role"), ": ", t(`role.${me.role}`)), profileForm),
    h("section", { class: "panel" }, h("h2", null, t("core.profile.password_title")), passwordForm),
  );
}
