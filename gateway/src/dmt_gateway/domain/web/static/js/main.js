// Starts the page: the words of the three languages, the signed-in user, the frame around every
// page (navigation, language, sign out) and the router.

import { h, replace } from "./dom.js";
import { LANGUAGES, LANGUAGE_NAMES, language, loadMessages, preferredLanguage, setLanguage, setTimeZone, t } from "./i18n.js";
import { api } from "./api.js";
import { match, mayLeave, navigate, start } from "./router.js";
import * as session from "./session.js";
import { errorPanel, notice } from "./widgets/ui.js";

const header = document.getElementById("app-header");
const main = document.getElementById("main");
let cleanup = null;
let renderCount = 0;

function applyUser() {
  const user = session.user();
  setLanguage(user?.language || preferredLanguage());
  if (user?.time_zone) setTimeZone(user.time_zone);
}

/** Changes the interface language; a signed-in user keeps it in their profile for next time. */
export async function changeLanguage(next) {
  // The page is drawn again in the new language: unsaved changes would go with it.
  if (!mayLeave()) {
    renderHeader(match(location.pathname)?.route.name, document.body.classList.contains("bare"));
    return;
  }
  setLanguage(next);
  const user = session.user();
  if (user && user.language !== next) {
    session.updateUser({ language: next });
    try {
      await api.patch("/auth/me", { language: next });
    } catch (error) {
      notice(t("core.language_not_saved", { detail: error.message }), "error");
    }
  }
  render();
}

function languageSelect(id) {
  return h(
    "select",
    { id, "aria-label": t("core.language"), onchange: (event) => changeLanguage(event.target.value) },
    LANGUAGES.map((code) => h("option", { value: code, selected: code === language() }, LANGUAGE_NAMES[code])),
  );
}

function renderHeader(routeName, bare) {
  const user = session.user();
  const skip = document.querySelector(".skip-link");
  if (skip) skip.textContent = t("core.skip");
  header.hidden = bare;
  if (bare) return;
  const link = (href, text, name) =>
    h("a", { href, class: routeName === name ? "active" : null, "aria-current": routeName === name ? "page" : null }, text);
  replace(
    header,
    h("a", { href: "/records", class: "brand" }, h("strong", null, "DMT"), h("span", null, t("core.app_name"))),
    user
      ? h(
          "nav",
          { "aria-label": t("core.navigation") },
          link("/records", t("core.nav.records"), "dashboard"),
          ["Inspector", "Admin"].includes(user.role) ? link("/records/new", t("core.nav.new_record"), "record-new") : null,
          user.role === "Admin" ? link("/admin/catalogs", t("core.nav.catalogs"), "admin-catalogs") : null,
          user.role === "Admin" ? link("/admin/users", t("core.nav.users"), "admin-users") : null,
          h("a", { href: "/api/docs", "data-external": "" }, t("core.nav.api")),
        )
      : h("span"),
    h(
      "div",
      { class: "header-tools" },
      languageSelect("language-select"),
      user
        ? [
            h("a", { href: "/profile", class: "user", id: "current-user", title: t("core.nav.profile") }, `${user.full_name} · ${t(`role.${user.role}`)}`),
            h("button", { type: "button", id: "sign-out", class: "link", onclick: () => session.signOut() }, t("core.sign_out")),
          ]
        : null,
    ),
  );
}

async function render() {
  const ticket = ++renderCount;
  const found = match(location.pathname);
  if (cleanup) {
    try {
      cleanup();
    } catch {
      /* a page's cleanup failing must not stop the next page */
    }
    cleanup = null;
  }
  if (!found) {
    renderHeader(null, false);
    replace(main, errorPanel(t("core.not_found"), t("core.not_found_text"), h("a", { href: "/records" }, t("core.back_to_list"))));
    main.dataset.page = "not-found";
    return;
  }
  const { route, params } = found;
  if (route.redirect) {
    navigate(route.redirect(location.search), { replace: true });
    return;
  }
  if (!route.public && !session.current()) {
    const next = location.pathname + location.search;
    navigate(`/login?next=${encodeURIComponent(next)}`, { replace: true });
    return;
  }
  applyUser();
  document.body.classList.toggle("bare", Boolean(route.bare));
  renderHeader(route.name, Boolean(route.bare));
  main.setAttribute("aria-busy", "true");
  delete main.dataset.page;
  try {
    const page = await import(route.module);
    if (ticket !== renderCount) return;
    replace(main);
    document.title = `DMT · ${t("core.app_name")}`;
    cleanup = (await page.render(main, { params, route: route.name, rerender: render })) || null;
    if (ticket !== renderCount) return;
    main.dataset.page = route.name;
  } catch (error) {
    if (ticket !== renderCount) return;
    if (error?.status === 401) return; // the sign-in ended: the listener below shows the form
    console.error(error);
    replace(main, errorPanel(t("core.page_failed"), error?.detail || error?.message || String(error)));
    main.dataset.page = "error";
  } finally {
    if (ticket === renderCount) main.removeAttribute("aria-busy");
  }
  if (ticket === renderCount && !main.contains(document.activeElement)) {
    // Keyboard users start on the page, not at the top of the frame.
    const heading = main.querySelector("h1");
    if (heading) {
      heading.tabIndex = -1;
      heading.focus({ preventScroll: true });
    }
  }
}

session.onSignedOut((reason) => {
  if (location.pathname === "/login") return;
  const next = location.pathname + location.search;
  navigate(`/login?reason=${reason}&next=${encodeURIComponent(next)}`, { replace: true });
});

async function boot() {
  setLanguage(session.user()?.language || preferredLanguage());
  try {
    await loadMessages();
  } catch (error) {
    replace(main, h("p", { role: "alert" }, `DMT: ${error.message}`));
    return;
  }
  start(render);
}

boot();
