// The interface's words in English, Spanish and Chinese, and dates, numbers and money in the
// reader's language and time zone. Each part of the page has its own dictionary in /ui/i18n/.

export const LANGUAGES = ["en", "es", "zh"];
export const LANGUAGE_NAMES = { en: "English", es: "Español", zh: "中文" };
const DICTIONARIES = ["core", "dashboard", "record", "print", "admin"];
const HTML_LANG = { en: "en", es: "es", zh: "zh-CN" };
const LOCALES = { en: "en-US", es: "es-MX", zh: "zh-CN" };

const messages = { en: {}, es: {}, zh: {} };
let current = "en";
let timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";

export async function loadMessages() {
  const parts = await Promise.all(
    DICTIONARIES.map(async (name) => {
      const response = await fetch(`/ui/i18n/${name}.json`);
      if (!response.ok) throw new Error(`dictionary ${name}: ${response.status}`);
      return response.json();
    }),
  );
  for (const part of parts) {
    for (const language of LANGUAGES) Object.assign(messages[language], part[language] || {});
  }
}

/** The interface language chosen before sign-in, or the browser's, or English. */
export function preferredLanguage() {
  const stored = localStorage.getItem("dmt.language");
  if (LANGUAGES.includes(stored)) return stored;
  const browser = (navigator.language || "en").slice(0, 2).toLowerCase();
  return LANGUAGES.includes(browser) ? browser : "en";
}

export function setLanguage(language) {
  current = LANGUAGES.includes(language) ? language : "en";
  localStorage.setItem("dmt.language", current);
  document.documentElement.lang = HTML_LANG[current];
}

export function language() {
  return current;
}

export function setTimeZone(zone) {
  try {
    new Intl.DateTimeFormat("en", { timeZone: zone });
    timeZone = zone;
  } catch {
    timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  }
}

export function currentTimeZone() {
  return timeZone;
}

/** The words for `key` in the current language, with {name} placeholders filled from params. */
export function t(key, params) {
  let text = messages[current][key] ?? messages.en[key];
  if (text === undefined) {
    console.warn(`no words for ${key}`);
    return key;
  }
  if (params) text = text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
  return text;
}

/** The words for `key` in every language, for the three-language labels of printed forms. */
export function tAll(key) {
  return LANGUAGES.map((lang) => messages[lang][key] ?? messages.en[key] ?? key);
}

export function hasKey(key) {
  return key in messages.en;
}

function locale() {
  return LOCALES[current];
}

/** A calendar date from the API ("2026-11-24"), shown as the reader writes dates. */
export function formatDate(value) {
  if (!value) return "";
  const [year, month, day] = String(value).slice(0, 10).split("-").map(Number);
  const date = new Date(Date.UTC(year, month - 1, day));
  return new Intl.DateTimeFormat(locale(), { year: "numeric", month: "2-digit", day: "2-digit", timeZone: "UTC" }).format(date);
}

/** A moment from the API (UTC), shown in the reader's time zone with the zone's name. */
export function formatDateTime(value) {
  if (!value) return "";
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return new Intl.DateTimeFormat(locale(), {
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    timeZone,
    timeZoneName: "short",
  }).format(date);
}

export function formatNumber(value, digits = 0) {
  if (value === null || value === undefined || value === "") return "";
  return new Intl.NumberFormat(locale(), { minimumFractionDigits: digits, maximumFractionDigits: Math.max(digits, 2) }).format(Number(value));
}

export function formatMoney(value) {
  if (value === null || value === undefined || value === "") return "";
  // Costs are kept in the plant's one currency, which the API does not name: two decimals, no symbol.
  return new Intl.NumberFormat(locale(), { minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(Number(value));
}

export function formatPercent(value) {
  return new Intl.NumberFormat(locale(), { style: "percent", maximumFractionDigits: 1 }).format(Number(value) || 0);
}

/** Today's date in the reader's time zone, as the API writes dates. */
export function today() {
  const parts = new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date());
  return parts;
}
