// Type-ahead pickers over whole catalogs and the user list: each keystroke asks the API (which
// searches every entry, not a first page), so a catalog of thousands is as easy as one of ten.
// Keyboard: Down/Up move, Enter picks, Escape closes; an ARIA combobox for screen readers.

import { api } from "../api.js";
import { h, replace, uid } from "../dom.js";
import { formatNumber, language, t } from "../i18n.js";

const SHOWN = 20;

/** A catalog entry's name in the reader's language, else the English one. */
export function entryName(entry) {
  if (!entry) return "";
  return entry[`item_name_${language()}`] || entry.item_name || "";
}

export function catalogText(entry) {
  if (!entry) return "";
  const name = entryName(entry);
  return name ? `${entry.item_number} - ${name}` : entry.item_number;
}

export function userText(user) {
  return user ? `${user.username} - ${user.full_name}` : "";
}

/**
 * The generic picker. search(q) answers {items, total}; format(item) its text.
 * value: the chosen item (or null). onChange(item|null) after each choice.
 */
export function picker({ search, format, value = null, onChange = () => {}, id = uid("picker"), required = false, disabled = false, placeholder = "", label = "" }) {
  let chosen = value;
  let results = [];
  let active = -1;
  let timer = null;
  let asked = 0;

  const listId = `${id}-list`;
  const input = h("input", {
    id,
    type: "text",
    role: "combobox",
    autocomplete: "off",
    spellcheck: "false",
    "aria-autocomplete": "list",
    "aria-expanded": "false",
    "aria-controls": listId,
    "aria-label": label || null,
    placeholder: placeholder || t("core.picker.placeholder"),
    value: format(chosen),
    required,
    disabled,
  });
  const list = h("ul", { id: listId, role: "listbox", class: "picker-list", hidden: true });
  const status = h("div", { class: "picker-status", "aria-live": "polite" });
  const clear = h(
    "button",
    {
      type: "button",
      class: "picker-clear link",
      "aria-label": t("core.picker.clear"),
      title: t("core.picker.clear"),
      hidden: required || disabled || !chosen,
      onclick: () => choose(null),
    },
    "×",
  );
  const box = h("div", { class: "picker", dataset: { picker: "" } }, input, clear, list, status);

  function open(show) {
    list.hidden = !show;
    input.setAttribute("aria-expanded", show ? "true" : "false");
    if (!show) {
      active = -1;
      input.removeAttribute("aria-activedescendant");
    }
  }

  function choose(item) {
    chosen = item;
    input.value = format(item);
    clear.hidden = required || disabled || !item;
    open(false);
    status.textContent = "";
    onChange(item);
  }

  function highlight(index) {
    const options = list.querySelectorAll("[role=option]");
    if (!options.length) return;
    active = (index + options.length) % options.length;
    options.forEach((option, i) => option.setAttribute("aria-selected", i === active ? "true" : "false"));
    input.setAttribute("aria-activedescendant", options[active].id);
    options[active].scrollIntoView({ block: "nearest" });
  }

  async function lookUp() {
    const ticket = ++asked;
    const q = input.value.trim();
    let answer;
    try {
      answer = await search(q);
    } catch (error) {
      if (ticket === asked) status.textContent = error.message;
      return;
    }
    if (ticket !== asked) return;
    results = answer.items || [];
    replace(
      list,
      results.map((item, index) =>
        h(
          "li",
          {
            id: `${id}-option-${index}`,
            role: "option",
            "aria-selected": "false",
            class: item.is_active === false ? "inactive" : null,
            onmousedown: (event) => {
              event.preventDefault();
              choose(item);
            },
          },
          format(item),
          item.is_active === false ? h("small", null, ` (${t("core.inactive")})`) : null,
        ),
      ),
      answer.total > results.length ? h("li", { class: "picker-more", role: "presentation" }, t("core.picker.more", { count: formatNumber(answer.total - results.length) })) : null,
      results.length ? null : h("li", { class: "picker-none", role: "presentation" }, t("core.picker.none")),
    );
    status.textContent = t("core.picker.found", { count: formatNumber(answer.total) });
    open(true);
  }

  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(lookUp, 200);
  });
  input.addEventListener("focus", () => {
    if (!disabled) input.select();
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown") {
      event.preventDefault();
      if (list.hidden) lookUp().then(() => highlight(0));
      else highlight(active + 1);
    } else if (event.key === "ArrowUp") {
      event.preventDefault();
      if (!list.hidden) highlight(active - 1);
    } else if (event.key === "Enter") {
      if (!list.hidden && active >= 0 && results[active]) {
        event.preventDefault();
        choose(results[active]);
      }
    } else if (event.key === "Escape") {
      if (!list.hidden) {
        event.preventDefault();
        event.stopPropagation();
        open(false);
      }
    }
  });
  input.addEventListener("blur", () => {
    // Leaving the field without choosing puts back what was chosen; an emptied optional field clears it.
    setTimeout(() => {
      open(false);
      if (!input.value.trim() && !required && chosen) choose(null);
      else input.value = format(chosen);
    }, 150);
  });

  box.value = () => chosen;
  box.set = (item) => {
    chosen = item;
    input.value = format(item);
    clear.hidden = required || disabled || !item;
  };
  box.input = input;
  return box;
}

/** A picker over one catalog (kind: "part-numbers", ...); only active entries unless told. */
export function catalogPicker({ kind, activeOnly = true, ...options }) {
  return picker({
    ...options,
    format: catalogText,
    search: (q) => api.get(`/catalogs/${kind}`, { q, is_active: activeOnly ? "true" : undefined, sort: "item_number", order: "asc", page_size: SHOWN }),
  });
}

/** A picker over the users, of one role or several (comma list) when given. */
export function userPicker({ role, activeOnly = true, ...options }) {
  return picker({
    ...options,
    format: userText,
    search: async (q) => {
      const roles = role ? String(role).split(",") : [undefined];
      const answers = await Promise.all(roles.map((one) => api.get("/users", { q, role: one, is_active: activeOnly ? "true" : undefined, sort: "username", order: "asc", page_size: SHOWN })));
      return { items: answers.flatMap((a) => a.items).slice(0, SHOWN), total: answers.reduce((sum, a) => sum + a.total, 0) };
    },
  });
}
