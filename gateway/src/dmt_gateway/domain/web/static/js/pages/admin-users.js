// The people who use DMT (Admin): find them by name, role and state (kept in the address), add a
// user, change their name, email, role, language or time zone, reset their password, and
// deactivate or activate them. Users are never deleted: records name them.

import { api } from "../api.js";
import { h } from "../dom.js";
import { LANGUAGES, LANGUAGE_NAMES, currentTimeZone, formatDateTime, t } from "../i18n.js";
import * as session from "../session.js";
import { field, notice } from "../widgets/ui.js";
import { activeBadge, adminOnly, formDialog, listFilters, pagedList, rowActions, rowButton, saveChanges, setActiveState } from "./admin-common.js";

const ROLES = ["Admin", "Inspector", "Operator", "Tech Engineer", "Quality Engineer"];
const SORTS = ["username", "full_name", "role", "created_at"];
const PASSWORD_MIN = 8;
const PASSWORD_MAX = 128;
/** The API's rule for usernames (employee numbers), checked here to say it in the reader's language. */
const USERNAME = /^[A-Za-z0-9._-]{3,32}$/;

function timeZones(current) {
  let zones;
  try {
    zones = Intl.supportedValuesOf("timeZone");
  } catch {
    zones = ["America/Mexico_City", "America/Chicago", "America/New_York", "Europe/Madrid", "Asia/Shanghai"];
  }
  const all = new Set(["UTC", ...zones]);
  if (current) all.add(current);
  return [...all].sort((a, b) => (a === "UTC" ? -1 : b === "UTC" ? 1 : a.localeCompare(b)));
}

function roleSelect(value, { id, withAll = false, name = "role" } = {}) {
  return h(
    "select",
    { id, name },
    withAll ? h("option", { value: "", selected: !value }, t("core.all")) : null,
    ROLES.map((role) => h("option", { value: role, selected: role === value }, t(`role.${role}`))),
  );
}

function languageSelect(value) {
  return h(
    "select",
    { name: "language" },
    LANGUAGES.map((code) => h("option", { value: code, selected: code === value }, LANGUAGE_NAMES[code])),
  );
}

function zoneSelect(value) {
  return h(
    "select",
    { name: "time_zone" },
    timeZones(value).map((zone) => h("option", { value: zone, selected: zone === value }, zone)),
  );
}

export async function render(root, { rerender }) {
  if (!adminOnly(root, t("admin.forbidden.users"))) return undefined;

  const me = session.user();

  // ---------------------------------------------------------------- the list
  const results = h("div", { id: "users-results", class: "admin-results" });
  const list = pagedList({
    sorts: SORTS,
    qMax: 100,
    own: (q) => ({ role: ROLES.includes(q.role) ? q.role : "" }),
    results,
    fetch: (params) => api.get("/users", params),
    table: () => ({
      id: "users-table",
      caption: t("admin.users.caption"),
      columns: [
        { label: t("admin.users.username"), sort: "username" },
        { label: t("admin.users.full_name"), sort: "full_name" },
        { label: t("admin.users.email"), class: "admin-wide-only" },
        { label: t("admin.users.role"), sort: "role" },
        { label: t("admin.users.language"), class: "admin-wide-only" },
        { label: t("admin.users.time_zone"), class: "admin-wide-only" },
        { label: t("admin.state.label") },
        { label: t("admin.users.last_login") },
      ],
      row: rowFor,
      empty: t("admin.users.none_found"),
    }),
  });
  const filters = listFilters(list, {
    searchId: "users-q",
    maxlength: 100,
    placeholder: t("admin.users.search_hint"),
    activeId: "users-active",
    clearId: "users-clear",
    own: [{ key: "role", label: t("admin.users.role"), control: roleSelect(list.state.role, { id: "users-role", withAll: true }) }],
  });

  function rowFor(user) {
    const self = user.id === me?.id;
    return h(
      "tr",
      { dataset: { userId: user.id, username: user.username, active: String(user.is_active) }, class: user.is_active ? null : "admin-row-inactive" },
      h("td", { class: "admin-code" }, user.username, self ? h("small", { class: "muted admin-you" }, ` (${t("admin.users.you")})`) : null),
      h("td", null, user.full_name),
      h("td", { class: "admin-email admin-wide-only" }, user.email || ""),
      h("td", null, t(`role.${user.role}`)),
      h("td", { class: "admin-wide-only" }, LANGUAGE_NAMES[user.language] || user.language),
      h("td", { class: "admin-zone admin-wide-only" }, user.time_zone),
      h("td", null, activeBadge(user.is_active)),
      h("td", { class: "admin-when" }, user.last_login_at ? formatDateTime(user.last_login_at) : h("span", { class: "muted" }, t("admin.users.never"))),
      rowActions(
        user.username,
        { active: user.is_active, onEdit: () => editUser(user), onActive: (active) => setActive(user, active) },
        rowButton("reset-password", t("admin.users.reset"), user.username, () => resetPassword(user)),
      ),
    );
  }

  /** After a change to the signed-in Admin's own account, the frame shows the new name and language. */
  function afterOwnChange(saved) {
    if (saved.id !== me?.id) return false;
    session.updateUser({ full_name: saved.full_name, role: saved.role, language: saved.language, time_zone: saved.time_zone });
    rerender();
    return true;
  }

  // ---------------------------------------------------------------- add and edit
  async function editUser(user) {
    const isNew = !user;
    const inputs = {
      username: isNew ? h("input", { name: "username", maxlength: 32, required: true, autocomplete: "off", spellcheck: "false", autocapitalize: "characters" }) : null,
      full_name: h("input", { name: "full_name", value: user?.full_name ?? "", maxlength: 120, required: true, autocomplete: "off" }),
      email: h("input", { name: "email", type: "email", value: user?.email ?? "", maxlength: 254, autocomplete: "off" }),
      role: roleSelect(user?.role ?? "Operator"),
      password: isNew ? h("input", { name: "password", type: "password", minlength: PASSWORD_MIN, maxlength: PASSWORD_MAX, required: true, autocomplete: "new-password" }) : null,
      language: languageSelect(user?.language ?? "en"),
      time_zone: zoneSelect(user?.time_zone ?? currentTimeZone()),
    };
    const saved = await formDialog({
      title: isNew ? t("admin.users.add_title") : t("admin.users.edit_title", { user: user.username }),
      formId: "user-form",
      saveId: "user-save",
      fields: h(
        "div",
        { class: "admin-form-grid" },
        isNew ? field({ label: t("admin.users.username"), control: inputs.username, name: "username", required: true, hint: t("admin.users.username_hint") }) : null,
        field({ label: t("admin.users.full_name"), control: inputs.full_name, name: "full_name", required: true }),
        field({ label: t("admin.users.email"), control: inputs.email, name: "email" }),
        field({ label: t("admin.users.role"), control: inputs.role, name: "role", required: true }),
        isNew ? field({ label: t("admin.users.password"), control: inputs.password, name: "password", required: true, hint: t("admin.users.password_hint", { min: PASSWORD_MIN }) }) : null,
        field({ label: t("admin.users.language"), control: inputs.language, name: "language" }),
        field({ label: t("admin.users.time_zone"), control: inputs.time_zone, name: "time_zone" }),
      ),
      read: () => {
        const body = {
          full_name: inputs.full_name.value.trim(),
          email: inputs.email.value.trim() || null,
          role: inputs.role.value,
          language: inputs.language.value,
          time_zone: inputs.time_zone.value,
        };
        if (isNew) {
          body.username = inputs.username.value.trim();
          body.password = inputs.password.value;
        }
        return body;
      },
      check: (body) => {
        const problems = [];
        if (isNew) {
          if (!body.username) problems.push({ field: "username", message: t("admin.required") });
          else if (!USERNAME.test(body.username)) problems.push({ field: "username", message: t("admin.users.username_invalid") });
        }
        if (!body.full_name) problems.push({ field: "full_name", message: t("admin.required") });
        if (isNew && !body.password) problems.push({ field: "password", message: t("admin.required") });
        else if (isNew && body.password.length < PASSWORD_MIN) problems.push({ field: "password", message: t("admin.users.password_short", { min: PASSWORD_MIN }) });
        return problems;
      },
      send: (body) => saveChanges(user, body, { create: (values) => api.post("/users", values), update: (changes) => api.patch(`/users/${user.id}`, changes) }),
    });
    if (!saved || saved === user) return;
    notice(isNew ? t("admin.users.added", { user: saved.username }) : t("core.saved"), "success");
    if (!afterOwnChange(saved)) list.load();
  }

  // ---------------------------------------------------------------- password, active
  async function resetPassword(user) {
    const password = h("input", { name: "password", type: "password", minlength: PASSWORD_MIN, maxlength: PASSWORD_MAX, required: true, autocomplete: "new-password" });
    const again = h("input", { name: "password_again", type: "password", maxlength: PASSWORD_MAX, required: true, autocomplete: "new-password" });
    const done = await formDialog({
      title: t("admin.users.reset_title", { user: `${user.username} - ${user.full_name}` }),
      formId: "user-password-form",
      saveId: "user-save",
      saveLabel: t("admin.users.reset_save"),
      cancelValue: false,
      fields: [
        h("p", { class: "notice-inline" }, user.id === me?.id ? t("admin.users.reset_self") : t("admin.users.reset_text")),
        field({ label: t("admin.users.new_password"), control: password, name: "password", required: true, hint: t("admin.users.password_hint", { min: PASSWORD_MIN }) }),
        field({ label: t("admin.users.password_again"), control: again, name: "password_again", required: true }),
      ],
      read: () => ({ password: password.value, again: again.value }),
      check: (values) => {
        if (values.password.length < PASSWORD_MIN) {
          const message = values.password ? t("admin.users.password_short", { min: PASSWORD_MIN }) : t("admin.required");
          return [{ field: "password", message }];
        }
        if (values.password !== values.again) return [{ field: "password_again", message: t("admin.users.password_mismatch") }];
        return [];
      },
      send: async (values) => {
        await api.patch(`/users/${user.id}`, { password: values.password });
        return true;
      },
    });
    if (done) notice(t("admin.users.reset_done", { user: user.username }), "success");
  }

  function setActive(user, active) {
    return setActiveState(active, {
      confirm: {
        title: t("admin.users.deactivate_title"),
        text: t("admin.users.deactivate_text", { user: `${user.username} - ${user.full_name}` }),
        note: user.id === me?.id ? t("admin.users.deactivate_self") : null,
      },
      request: () => api.patch(`/users/${user.id}`, { is_active: active }),
      done: active ? t("admin.users.activated", { user: user.username }) : t("admin.users.deactivated", { user: user.username }),
      then: list.load,
    });
  }

  // ---------------------------------------------------------------- the page
  root.append(
    h("h1", null, t("admin.users.title")),
    h(
      "section",
      { class: "panel", id: "users-browser", "aria-labelledby": "users-heading" },
      h(
        "div",
        { class: "admin-heading" },
        h("div", null, h("h2", { id: "users-heading" }, t("admin.users.heading")), h("p", { class: "muted" }, t("admin.users.intro"))),
        h("button", { type: "button", id: "user-add", class: "primary", onclick: () => editUser(null) }, t("admin.users.add")),
      ),
      filters,
      results,
    ),
  );
  await list.load();

  return () => filters.stop();
}
