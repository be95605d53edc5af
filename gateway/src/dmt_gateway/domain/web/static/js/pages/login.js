// Sign in, with the interface language chosen here; the choice is kept in the user's profile.

import { api } from "../api.js";
import { h } from "../dom.js";
import { LANGUAGES, LANGUAGE_NAMES, language, setLanguage, t } from "../i18n.js";
import { navigate, query } from "../router.js";
import * as session from "../session.js";

/** Only a path of this site: a link can never send someone elsewhere after signing in. */
function safeNext(next) {
  return next && next.startsWith("/") && !next.startsWith("//") && !next.startsWith("/login") ? next : "/records";
}

export async function render(root, { rerender }) {
  const params = query();
  if (session.current()) {
    navigate(safeNext(params.next), { replace: true });
    return;
  }
  const error = h("p", { id: "login-error", class: "form-error", role: "alert", hidden: true });
  const username = h("input", { id: "login-username", name: "username", autocomplete: "username", required: true, autocapitalize: "characters", spellcheck: "false" });
  const password = h("input", { id: "login-password", name: "password", type: "password", autocomplete: "current-password", required: true });
  const choice = h(
    "select",
    {
      id: "login-language",
      name: "language",
      onchange: (event) => {
        // Picked on this form: kept in the user's profile once they sign in.
        sessionStorage.setItem("dmt.language.picked", "1");
        setLanguage(event.target.value);
        rerender();
      },
    },
    LANGUAGES.map((code) => h("option", { value: code, selected: code === language() }, LANGUAGE_NAMES[code])),
  );
  const submit = h("button", { id: "login-submit", type: "submit", class: "primary" }, t("core.login.submit"));

  async function signIn(event) {
    event.preventDefault();
    error.hidden = true;
    submit.disabled = true;
    try {
      const signedIn = await session.signIn(username.value.trim(), password.value);
      // A language chosen on this form is remembered for this user; otherwise theirs is used.
      const chosen = choice.value;
      if (sessionStorage.getItem("dmt.language.picked") === "1" && signedIn.user.language !== chosen) {
        try {
          await api.patch("/auth/me", { language: chosen });
          session.updateUser({ language: chosen });
        } catch {
          /* the sign-in stands even if the language could not be kept */
        }
      }
      sessionStorage.removeItem("dmt.language.picked");
      navigate(safeNext(params.next), { replace: true });
    } catch (failure) {
      const status = failure.status;
      error.textContent =
        status === 429
          ? t("core.login.locked", { seconds: failure.retryAfter || "60" })
          : status === 401 || status === 400 || status === 403
            ? t("core.login.failed")
            : t("core.login.unavailable", { detail: failure.detail || failure.message });
      error.hidden = false;
      password.value = "";
      password.focus();
    } finally {
      submit.disabled = false;
    }
  }

  const reason = params.reason === "expired" ? t("core.login.expired") : params.reason === "signed-out" ? t("core.login.signed_out") : null;
  root.append(
    h(
      "section",
      { class: "login panel" },
      h("h1", null, t("core.login.title")),
      h("p", { class: "muted" }, t("core.app_tagline")),
      reason ? h("p", { class: "notice-inline", role: "status", id: "login-reason" }, reason) : null,
      h(
        "form",
        { id: "login-form", onsubmit: signIn, novalidate: false },
        h("div", { class: "field" }, h("label", { for: "login-username" }, t("core.login.username")), username),
        h("div", { class: "field" }, h("label", { for: "login-password" }, t("core.login.password")), password),
        h("div", { class: "field" }, h("label", { for: "login-language" }, t("core.language")), choice),
        error,
        submit,
      ),
    ),
  );
  document.title = `DMT · ${t("core.login.title")}`;
  username.focus();
}
