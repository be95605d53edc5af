// A record's electronic signatures and its history: who changed what, when, from what to what.
// Ids in the history are shown by name: the catalog entries and users are looked up in batches.

import { api } from "../api.js";
import { h, replace } from "../dom.js";
import { currentTimeZone, formatDateTime, formatNumber, hasKey, t } from "../i18n.js";
import { catalogText, userText } from "../widgets/picker.js";
import { problemText } from "../widgets/ui.js";
import { CATALOG_OF, fieldLabel, formatValue, isUserField } from "./record-model.js";

const PAGE_SIZE = 50;

function roleName(role) {
  return role && hasKey(`role.${role}`) ? t(`role.${role}`) : role || "";
}

/** The signatures of a record (21 CFR 11.50: printed name, date and time, meaning). */
export function signaturesPanel(record) {
  const items = record.signatures || [];
  return h(
    "section",
    { class: "panel", id: "signatures", "aria-labelledby": "signatures-title" },
    h("h2", { id: "signatures-title" }, t("record.signatures.title")),
    items.length
      ? h(
          "ol",
          { class: "rec-signatures" },
          items.map((signature) =>
            h(
              "li",
              { dataset: { meaning: signature.meaning, version: signature.record_version } },
              h("strong", { class: "rec-signature-meaning" }, hasKey(`signature.${signature.meaning}`) ? t(`signature.${signature.meaning}`) : signature.meaning_text),
              " · ",
              h("span", { class: "rec-signature-signer" }, `${signature.signer_name} (${signature.signer_username})`),
              " · ",
              roleName(signature.signer_role),
              " · ",
              h("time", { datetime: signature.signed_at }, formatDateTime(signature.signed_at)),
              " · ",
              t("record.signatures.version", { version: signature.record_version }),
              signature.reason ? h("p", { class: "rec-reason" }, t("record.reason"), ": ", h("span", null, signature.reason)) : null,
            ),
          ),
        )
      : h("p", { class: "muted" }, t("record.signatures.none")),
  );
}

const userCache = new Map();

/** Labels for the ids the lines mention: {catalog: Map("kind:id" -> entry), users: Map(id -> user)}. */
async function resolve(lines) {
  const wanted = {};
  const userIds = new Set();
  for (const line of lines) {
    if (!line.field) continue;
    for (const value of [line.old_value, line.new_value]) {
      if (!value || !/^\d+$/.test(value)) continue;
      if (line.field in CATALOG_OF) (wanted[CATALOG_OF[line.field]] ||= new Set()).add(value);
      else if (isUserField(line.field)) userIds.add(Number(value));
    }
  }
  const catalog = new Map();
  await Promise.all([
    ...Object.entries(wanted).map(async ([kind, ids]) => {
      try {
        const answer = await api.get(`/catalogs/${kind}`, { ids: [...ids], page_size: 200 });
        for (const entry of answer.items) catalog.set(`${kind}:${entry.id}`, entry);
      } catch {
        /* shown by id */
      }
    }),
    ...[...userIds]
      .filter((id) => !userCache.has(id))
      .slice(0, 30)
      .map(async (id) => {
        try {
          userCache.set(id, await api.get(`/users/${id}`));
        } catch {
          userCache.set(id, null);
        }
      }),
  ]);
  return { catalog, users: userCache };
}

function valueText(line, value, labels) {
  if (value === null || value === undefined || value === "") return t("core.none");
  if (line.field === "status") return hasKey(`status.${value}`) ? t(`status.${value}`) : value;
  if (line.action === "signed" && hasKey(`signature.${value}`)) return t(`signature.${value}`);
  if (line.field in CATALOG_OF) {
    const entry = labels.catalog.get(`${CATALOG_OF[line.field]}:${value}`);
    return entry ? catalogText(entry) : `#${value}`;
  }
  if (isUserField(line.field)) {
    const user = labels.users.get(Number(value));
    return user ? userText(user) : `#${value}`;
  }
  return line.field ? formatValue(line.field, value, null) || value : value;
}

/** Lines of one change (same moment, person, action and version) together. */
function events(lines) {
  const out = [];
  for (const line of lines) {
    const key = `${line.at}|${line.actor_username}|${line.action}|${line.version}`;
    const last = out[out.length - 1];
    if (last && last.key === key) last.lines.push(line);
    else out.push({ key, first: line, lines: [line] });
  }
  return out;
}

/** A change from one value to another shows both; a creation shows only what was given. */
function showsOld(line) {
  return line.action !== "created" && line.action !== "imported" && line.old_value !== null && line.old_value !== undefined;
}

function eventItem(event, labels) {
  const { first } = event;
  const action = hasKey(`action.${first.action}`) ? t(`action.${first.action}`) : first.action;
  const reasons = [...new Set(event.lines.map((line) => line.reason).filter(Boolean))];
  const changes = event.lines.filter((line) => line.field || line.new_value || line.old_value);
  return h(
    "li",
    { class: "rec-event", dataset: { action: first.action, version: first.version ?? "" } },
    h(
      "div",
      { class: "rec-event-head" },
      h("time", { datetime: first.at, title: first.at_local || first.at }, formatDateTime(first.at)),
      // The translator writes its lines as the user "translator": the reader's word for it instead.
      h("strong", null, first.action === "translated" && first.actor_username === "translator" ? t("record.history.translator") : first.actor_name || first.actor_username),
      first.actor_role ? h("span", { class: "muted" }, `(${roleName(first.actor_role)})`) : null,
      h("span", { class: "rec-event-action" }, action),
      first.version ? h("span", { class: "muted" }, t("record.history.version", { version: first.version })) : null,
    ),
    reasons.map((reason) => h("p", { class: "rec-reason" }, t("record.reason"), ": ", h("span", null, reason))),
    changes.length
      ? h(
          "ul",
          { class: "rec-changes" },
          changes.map((line) =>
            h(
              "li",
              { dataset: { field: line.field || "" } },
              line.field ? h("span", { class: "rec-change-field" }, fieldLabel(line.field)) : null,
              line.language ? h("span", { class: "muted" }, ` (${t(`lang.${line.language}`)})`) : null,
              line.field ? ": " : null,
              showsOld(line) ? [h("del", { lang: line.language || null }, valueText(line, line.old_value, labels)), " → "] : null,
              h("ins", { lang: line.language || null }, valueText(line, line.new_value, labels)),
            ),
          ),
        )
      : null,
  );
}

/**
 * The history timeline, oldest first, a page at a time with "Show more". Answers the panel with
 * reload() (after a change: the lines shown so far are asked for again).
 */
export function historyPanel(recordId) {
  const list = h("ol", { class: "rec-timeline", "aria-live": "polite" });
  const status = h("p", { class: "muted", id: "history-count" });
  const more = h("button", { type: "button", id: "history-more", hidden: true }, t("record.history.more"));
  const panel = h(
    "section",
    { class: "panel", id: "history", "aria-labelledby": "history-title", "aria-busy": "true" },
    h("h2", { id: "history-title" }, t("record.history.title")),
    status,
    list,
    more,
  );
  let lines = [];
  let total = 0;
  let page = 0;
  let ticket = 0;

  async function fetchPage(number) {
    return api.get(`/records/${recordId}/history`, { tz: currentTimeZone(), page: number, page_size: PAGE_SIZE });
  }

  async function paint() {
    const labels = await resolve(lines);
    replace(list, events(lines).map((event) => eventItem(event, labels)));
    status.textContent = t("record.history.count", { shown: formatNumber(lines.length), total: formatNumber(total) });
    more.hidden = lines.length >= total;
    panel.removeAttribute("aria-busy");
  }

  async function load(pages) {
    const mine = ++ticket;
    panel.setAttribute("aria-busy", "true");
    try {
      const answers = [];
      for (let number = 1; number <= pages; number += 1) {
        const answer = await fetchPage(number);
        answers.push(answer);
        if (number * PAGE_SIZE >= answer.total) break;
      }
      if (mine !== ticket) return;
      lines = answers.flatMap((answer) => answer.items);
      total = answers[answers.length - 1]?.total ?? 0;
      page = answers.length;
      await paint();
    } catch (error) {
      if (mine !== ticket) return;
      panel.removeAttribute("aria-busy");
      status.textContent = problemText(error);
    }
  }

  more.addEventListener("click", async () => {
    more.disabled = true;
    try {
      const answer = await fetchPage(page + 1);
      page += 1;
      lines = lines.concat(answer.items);
      total = answer.total;
      await paint();
    } catch (error) {
      status.textContent = problemText(error);
    } finally {
      more.disabled = false;
    }
  });

  panel.reload = () => load(Math.max(1, page));
  load(1);
  return panel;
}

/** The history lines written after `version` (newest pages first, until an older line shows). */
export async function linesAfter(recordId, version) {
  const size = 200;
  const ask = (number) => api.get(`/records/${recordId}/history`, { tz: currentTimeZone(), page: number, page_size: size });
  const first = await ask(1);
  const pages = Math.max(1, Math.ceil(first.total / size));
  let found = [];
  for (let number = pages; number >= 1; number -= 1) {
    const answer = number === 1 ? first : await ask(number);
    const later = answer.items.filter((line) => (line.version ?? 0) > version);
    found = later.concat(found);
    if (later.length < answer.items.length) break;
  }
  return found;
}
