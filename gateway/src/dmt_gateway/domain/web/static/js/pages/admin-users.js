// The people who use DMT (Admin): find them by name, role and state (kept in the address), add a
// user, change their name, email, role, language or time zone, reset their password, and
// deactivate or activate them. Users are never deleted: records name them.

import { api } from "../api.js";
import { h, replace } from "../dom.js";
import { LANGUAGES, LANGUAGE_NAMES, currentTimeZone, formatDateTime, t } from "../i18n.js";
import { query, setQuery } from "../router.js";
import * as session from "../session.js";
import { clearErrors, dialog, field, notice, pager, problemText, showErrors } from "../widgets/ui.js";
import { activeBadge, activeFilter, adminOnly, confirmAction, DEFAULT_PAGE_SIZE, PAGE_SIZES, formMessage, pageSizeOf, positiveInt, say, sortHeader } from "./admin-common.js";

const ROLES = ["Admin", "Inspector", "Operator", "Tech Engineer", "Quality Engineer"];
const SORTS = ["username", "full_name", "role", "created_at"];
const PASSWORD_MIN = 8;
const PASSWORD_MAX = 128;
/** The API's rule for usernames (employee numbers), checked here to say it in the reader's language. */
const USERNAME = /^[A-Za-z0-9._-]{3,32}$/;

function readState() {
  const q = query();
  return {
    q: (q.q || "").slice(0, 100),
    role: ROLES.includes(q.role) ? q.role : "",
    active: q.active === "true" || q.active === "false" ? q.active : "",
    sort: SORTS.includes(q.sort) ? q.sort : "username",
    order: q.order === "desc" ? "desc" : "asc",
    page: positiveInt(q.page, 1),
    size: pageSizeOf(q.size),
  };
}

function writeState(state, replaceEntry = false) {
  setQuery(
    {
      q: state.q,
      role: state.role,
      active: state.active,
      sort: state.sort === "username" ? "" : state.sort,
      order: state.order === "asc" ? "" : state.order,
      page: state.page > 1 ? state.page : "",
      size: state.size === DEFAULT_PAGE_SIZE ? "" : state.size,
    },
    { replace: replaceEntry },
  );
}

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

/** Shows an API refusal in a dialog's form: messages next to their fields, the rest above the buttons. */
function showProblem(form, message, error) {
  const left = showErrors(form, error);
  if (left.length || !error.errors?.length) say(message, problemText(error));
}

export async function render(root, { rerender }) {
  if (!adminOnly(root, t("admin.forbidden.users"))) return undefined;

  const state = readState();
  const me = session.user();
  let loads = 0;
  let searchTimer = null;

  // ---------------------------------------------------------------- filters
  const search = h("input", {
    id: "users-q",
    type: "search",
    name: "q",
    value: state.q,
    maxlength: 100,
    autocomplete: "off",
    placeholder: t("admin.users.search_hint"),
  });
  const roleFilter = roleSelect(state.role, { id: "users-role", withAll: true });
  roleFilter.addEventListener("change", () => {
    state.role = roleFilter.value;
    state.page = 1;
    writeState(state);
    load();
  });
  const activeSelect = activeFilter("users-active", state.active, (value) => {
    state.active = value;
    state.page = 1;
    writeState(state);
    load();
  });
  search.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => {
      state.q = search.value.trim();
      state.page = 1;
      writeState(state, true);
      load();
    }, 300);
  });
  search.addEventListener("keydown", (event) => {
    if (event.key !== "Enter") return;
    event.preventDefault();
    clearTimeout(searchTimer);
    state.q = search.value.trim();
    state.page = 1;
    writeState(state);
    load();
  });
  const filters = h(
    "form",
    { class: "admin-filters", role: "search", onsubmit: (event) => event.preventDefault() },
    field({ label: t("core.search"), control: search, name: "q" }),
    field({ label: t("admin.users.role"), control: roleFilter, name: "role" }),
    field({ label: t("admin.filter.state"), control: activeSelect, name: "is_active" }),
    h(
      "div",
      { class: "admin-filter-actions" },
      h(
        "button",
        {
          type: "button",
          id: "users-clear",
          onclick: () => {
            search.value = "";
            roleFilter.value = "";
            activeSelect.value = "";
            Object.assign(state, { q: "", role: "", active: "", page: 1 });
            writeState(state);
            load();
          },
        },
        t("core.clear"),
      ),
    ),
  );

  // ---------------------------------------------------------------- the list
  const results = h("div", { id: "users-results", class: "admin-results" });

  function onSort(name, order) {
    state.sort = name;
    state.order = order;
    state.page = 1;
    writeState(state);
    load();
  }

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
      h(
        "td",
        { class: "admin-row-actions" },
        h(
          "div",
          null,
          h("button", { type: "button", dataset: { action: "edit" }, "aria-label": `${t("core.edit")} ${user.username}`, onclick: () => editUser(user) }, t("core.edit")),
          user.is_active
            ? h("button", { type: "button", dataset: { action: "deactivate" }, "aria-label": `${t("admin.deactivate")} ${user.username}`, onclick: () => setActive(user, false) }, t("admin.deactivate"))
            : h("button", { type: "button", dataset: { action: "activate" }, "aria-label": `${t("admin.activate")} ${user.username}`, onclick: () => setActive(user, true) }, t("admin.activate")),
          h("button", { type: "button", dataset: { action: "reset-password" }, "aria-label": `${t("admin.users.reset")} ${user.username}`, onclick: () => resetPassword(user) }, t("admin.users.reset")),
        ),
      ),
    );
  }

  async function load() {
    const ticket = ++loads;
    results.setAttribute("aria-busy", "true");
    let answer;
    try {
      answer = await api.get("/users", {
        q: state.q || undefined,
        role: state.role || undefined,
        is_active: state.active || undefined,
        sort: state.sort,
        order: state.order,
        page: state.page,
        page_size: state.size,
      });
    } catch (error) {
      if (ticket !== loads) return;
      results.removeAttribute("aria-busy");
      replace(results, h("p", { class: "form-error", role: "alert" }, problemText(error)));
      return;
    }
    if (ticket !== loads) return;
    const pages = Math.max(1, Math.ceil(answer.total / state.size));
    if (!answer.items.length && state.page > pages) {
      state.page = pages;
      writeState(state, true);
      load();
      return;
    }
    results.removeAttribute("aria-busy");
    const table = h(
      "table",
      { id: "users-table", dataset: { total: answer.total } },
      h("caption", { class: "admin-caption" }, t("admin.users.caption")),
      h(
        "thead",
        null,
        h(
          "tr",
          null,
          sortHeader(t("admin.users.username"), "username", state, onSort),
          sortHeader(t("admin.users.full_name"), "full_name", state, onSort),
          h("th", { scope: "col", class: "admin-wide-only" }, t("admin.users.email")),
          sortHeader(t("admin.users.role"), "role", state, onSort),
          h("th", { scope: "col", class: "admin-wide-only" }, t("admin.users.language")),
          h("th", { scope: "col", class: "admin-wide-only" }, t("admin.users.time_zone")),
          h("th", { scope: "col" }, t("admin.state.label")),
          h("th", { scope: "col" }, t("admin.users.last_login")),
          h("th", { scope: "col" }, h("span", { class: "admin-visually-hidden" }, t("admin.actions"))),
        ),
      ),
      h(
        "tbody",
        null,
        answer.items.length ? answer.items.map(rowFor) : h("tr", { class: "admin-empty" }, h("td", { colspan: 9 }, t("admin.users.none_found"))),
      ),
    );
    replace(
      results,
      h("div", { class: "table-wrap" }, table),
      pager({
        total: answer.total,
        page: state.page,
        pageSize: state.size,
        sizes: PAGE_SIZES,
        onChange: ({ page, page_size: size }) => {
          state.page = page;
          state.size = size;
          writeState(state);
          load();
        },
      }),
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
    const saved = await dialog({
      title: isNew ? t("admin.users.add_title") : t("admin.users.edit_title", { user: user.username }),
      className: "admin-dialog",
      build: (close) => {
        const message = formMessage();
        const save = h("button", { type: "submit", id: "user-save", class: "primary" }, t("core.save"));
        const form = h(
          "form",
          { id: "user-form", novalidate: true },
          h(
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
          message,
          h("div", { class: "actions" }, save, h("button", { type: "button", onclick: () => close(null) }, t("core.cancel"))),
        );
        form.addEventListener("submit", async (event) => {
          event.preventDefault();
          clearErrors(form);
          say(message, "");
          const body = {
            full_name: inputs.full_name.value.trim(),
            email: inputs.email.value.trim() || null,
            role: inputs.role.value,
            language: inputs.language.value,
            time_zone: inputs.time_zone.value,
          };
          const problems = [];
          if (isNew) {
            body.username = inputs.username.value.trim();
            body.password = inputs.password.value;
            if (!body.username) problems.push({ field: "username", message: t("admin.required") });
            else if (!USERNAME.test(body.username)) problems.push({ field: "username", message: t("admin.users.username_invalid") });
          }
          if (!body.full_name) problems.push({ field: "full_name", message: t("admin.required") });
          if (isNew && !body.password) problems.push({ field: "password", message: t("admin.required") });
          else if (isNew && body.password.length < PASSWORD_MIN) problems.push({ field: "password", message: t("admin.users.password_short", { min: PASSWORD_MIN }) });
          if (problems.length) {
            showErrors(form, { errors: problems });
            return;
          }
          let changes = body;
          if (!isNew) {
            changes = Object.fromEntries(Object.entries(body).filter(([name, value]) => value !== (user[name] ?? null)));
            if (!Object.keys(changes).length) {
              close(user);
              return;
            }
          }
          save.disabled = true;
          try {
            close(isNew ? await api.post("/users", body) : await api.patch(`/users/${user.id}`, changes));
          } catch (error) {
            save.disabled = false;
            showProblem(form, message, error);
          }
        });
        return form;
      },
    });
    if (!saved || saved === user) return;
    notice(isNew ? t("admin.users.added", { user: saved.username }) : t("core.saved"), "success");
    if (!afterOwnChange(saved)) load();
  }

  // ---------------------------------------------------------------- password, active
  async function resetPassword(user) {
    const done = await dialog({
      title: t("admin.users.reset_title", { user: `${user.username} - ${user.full_name}` }),
      className: "admin-dialog",
      build: (close) => {
        const message = formMessage();
        const password = h("input", { name: "password", type: "password", minlength: PASSWORD_MIN, maxlength: PASSWORD_MAX, required: true, autocomplete: "new-password" });
        const again = h("input", { name: "password_again", type: "password", maxlength: PASSWORD_MAX, required: true, autocomplete: "new-password" });
        const save = h("button", { type: "submit", id: "user-save", class: "primary" }, t("admin.users.reset_save"));
        const form = h(
          "form",
          { id: "user-password-form", novalidate: true },
          h("p", { class: "notice-inline" }, user.id === me?.id ? t("admin.users.reset_self") : t("admin.users.reset_text")),
          field({ label: t("admin.users.new_password"), control: password, name: "password", required: true, hint: t("admin.users.password_hint", { min: PASSWORD_MIN }) }),
          field({ label: t("admin.users.password_again"), control: again, name: "password_again", required: true }),
          message,
          h("div", { class: "actions" }, save, h("button", { type: "button", onclick: () => close(false) }, t("core.cancel"))),
        );
        form.addEventListener("submit", async (event) => {
          event.preventDefault();
          clearErrors(form);
          say(message, "");
          if (password.value.length < PASSWORD_MIN) {
            const message = password.value ? t("admin.users.password_short", { min: PASSWORD_MIN }) : t("admin.required");
            showErrors(form, { errors: [{ field: "password", message }] });
            return;
          }
          if (password.value !== again.value) {
            showErrors(form, { errors: [{ field: "password_again", message: t("admin.users.password_mismatch") }] });
            return;
          }
          save.disabled = true;
          try {
            await api.patch(`/users/${user.id}`, { password: password.value });
            close(true);
          } catch (error) {
            save.disabled = false;
            showProblem(form, message, error);
          }
        });
        return form;
      },
    });
    if (done) notice(t("admin.users.reset_done", { user: user.username }), "success");
  }

  async function setActive(user, active) {
    if (!active) {
      const sure = await confirmAction({
        title: t("admin.users.deactivate_title"),
        text: t("admin.users.deactivate_text", { user: `${user.username} - ${user.full_name}` }),
        note: user.id === me?.id ? t("admin.users.deactivate_self") : null,
        confirmLabel: t("admin.deactivate"),
      });
      if (!sure) return;
    }
    try {
      await api.patch(`/users/${user.id}`, { is_active: active });
      notice(active ? t("admin.users.activated", { user: user.username }) : t("admin.users.deactivated", { user: user.username }), "success");
      load();
    } catch (error) {
      notice(problemText(error), "error");
    }
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
  await load();

  return () => clearTimeout(searchTimer);
}
