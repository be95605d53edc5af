// Path routes with the History API: every page has its own address, filters live in the query
// string, and the gateway answers index.html on each of these paths so a reload or a bookmark works.

const ROUTES = [
  { name: "login", pattern: /^\/login$/, module: "./pages/login.js", public: true },
  { name: "home", pattern: /^\/$/, redirect: (query) => `/records${query}` },
  { name: "dashboard", pattern: /^\/records$/, module: "./pages/dashboard.js" },
  { name: "record-new", pattern: /^\/records\/new$/, module: "./pages/record.js" },
  { name: "record", pattern: /^\/records\/(?<id>\d+)$/, module: "./pages/record.js" },
  { name: "print", pattern: /^\/records\/(?<id>\d+)\/print\/(?<form>tag|mrb|car)$/, module: "./pages/print.js", bare: true },
  { name: "admin", pattern: /^\/admin$/, redirect: () => "/admin/catalogs" },
  { name: "admin-catalogs", pattern: /^\/admin\/catalogs(?:\/(?<kind>[a-z-]+))?$/, module: "./pages/admin-catalogs.js" },
  { name: "admin-users", pattern: /^\/admin\/users$/, module: "./pages/admin-users.js" },
  { name: "profile", pattern: /^\/profile$/, module: "./pages/profile.js" },
];

export function match(pathname) {
  for (const route of ROUTES) {
    const found = route.pattern.exec(pathname);
    if (found) return { route, params: { ...(found.groups || {}) } };
  }
  return null;
}

let onChange = () => {};
let leaveCheck = null;
let shownPath = null;

/**
 * While `check()` answers a message (unsaved changes), leaving the page for another one of the
 * app asks the person first. Answers the function that removes the check.
 */
export function guardLeaving(check) {
  leaveCheck = check;
  return () => {
    if (leaveCheck === check) leaveCheck = null;
  };
}

/** Asks before the current page is left (or drawn again) while it holds unsaved changes. */
export function mayLeave() {
  const message = leaveCheck?.();
  if (message && !window.confirm(message)) return false;
  leaveCheck = null;
  return true;
}

function show() {
  shownPath = location.pathname + location.search;
  onChange();
}

/** Starts listening; `handler()` renders whatever location.pathname now is. */
export function start(handler) {
  onChange = handler;
  window.addEventListener("popstate", () => {
    if (location.pathname + location.search !== shownPath && !mayLeave()) {
      // Back or Forward was pressed with unsaved changes that the person keeps: stay.
      history.pushState(null, "", shownPath);
      return;
    }
    show();
  });
  document.addEventListener("click", (event) => {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const link = event.target.closest("a[href]");
    if (!link || link.target || link.hasAttribute("download") || link.dataset.external !== undefined) return;
    const url = new URL(link.href, location.href);
    if (url.origin !== location.origin || !match(url.pathname)) return;
    event.preventDefault();
    navigate(url.pathname + url.search);
  });
  show();
}

/** Goes to another page of the app. */
export function navigate(path, { replace = false } = {}) {
  if (!mayLeave()) return;
  if (replace) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  show();
}

/** The current query as a plain object (a key given twice keeps the last). */
export function query() {
  return Object.fromEntries(new URLSearchParams(location.search));
}

/**
 * Writes the page's state into the address without rendering again (a filter or page changed):
 * the view can be bookmarked and shared, and Back returns to the previous filter.
 */
export function setQuery(values, { replace = false } = {}) {
  const path = location.pathname + queryString(values);
  if (path === location.pathname + location.search) return;
  if (replace) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  shownPath = path;
}

/** A query string from an object: empty values left out, arrays as comma lists. */
export function queryString(params) {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params || {})) {
    if (value === undefined || value === null || value === "") continue;
    if (Array.isArray(value)) {
      if (value.length) query.set(name, value.join(","));
    } else {
      query.set(name, String(value));
    }
  }
  const text = query.toString();
  return text ? `?${text}` : "";
}
