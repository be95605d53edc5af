// What the record page knows about a record's fields: which kind of value each holds, how a value
// is shown, and how the rules the API gives (sections, roles, required fields) apply to a role.

import { api } from "../api.js";
import { formatDate, formatMoney, formatNumber, hasKey, t } from "../i18n.js";
import { catalogText, userText } from "../widgets/picker.js";

let rulesAnswer = null;

/** GET /records/rules, asked once per page load and kept. */
export function loadRules() {
  if (!rulesAnswer) {
    rulesAnswer = api.get("/records/rules").catch((error) => {
      rulesAnswer = null;
      throw error;
    });
  }
  return rulesAnswer;
}

/** Record field -> the catalog its entries come from. */
export const CATALOG_OF = {
  part_number_id: "part-numbers",
  work_center_id: "work-centers",
  customer_id: "customers",
  level_id: "levels",
  area_id: "areas",
  prepared_by_id: "prepared-by",
  inspection_item_id: "inspection-items",
  process_code_id: "process-codes",
  final_disposition_id: "dispositions",
  failure_code_id: "failure-codes",
};

/** Record field -> the roles offered in its user picker (the API accepts any active user). */
export const USER_ROLES = {
  analysis_by_id: "Operator,Tech Engineer",
  engineer_id: "Tech Engineer",
  disposition_approved_by_id: "Quality Engineer,Admin",
};

/** Fields naming a user that are not edited on the form but appear in the history. */
const OTHER_USER_FIELDS = ["created_by_id", "updated_by_id", "closed_by_id", "reopened_by_id"];

export const DATE_FIELDS = new Set(["date", "disposition_date", "disposition_approval_date"]);

/** Bounds as the API states them (services/records .../schemas.py). */
export const NUMBER_FIELDS = {
  quantity: { min: 1, max: 2147483647, step: 1 },
  rework_hours: { min: 0, max: 99999999.99, step: 0.01 },
  material_scrap_cost: { min: 0, max: 9999999999.99, step: 0.01 },
  other_cost: { min: 0, max: 9999999999.99, step: 0.01 },
};
const MONEY_FIELDS = new Set(["material_scrap_cost", "other_cost"]);

/** One-line text fields and their longest length. */
export const STRING_FIELDS = { operation: 120, serial_number: 64, responsible_department: 120, sdr_number: 64 };

/** The label a read puts next to an id field: part_number_id -> part_number. */
export function labelOf(field) {
  return field.replace(/_id$/, "");
}

export function fieldLabel(field) {
  return hasKey(`field.${field}`) ? t(`field.${field}`) : field;
}

export function isUserField(field) {
  return field in USER_ROLES || OTHER_USER_FIELDS.includes(field);
}

/** "catalog", "user", "date", "number", "text" or "string". */
export function kindOf(field, rules) {
  if (field in CATALOG_OF) return "catalog";
  if (isUserField(field)) return "user";
  if (DATE_FIELDS.has(field)) return "date";
  if (field in NUMBER_FIELDS) return "number";
  if (rules.text_fields.includes(field)) return "text";
  return "string";
}

export function blank(value) {
  return value === null || value === undefined || (typeof value === "string" && !value.trim());
}

/** A value of the API as a person reads it (catalog entries and users by their labels). */
export function formatValue(field, value, label) {
  if (blank(value)) return "";
  if (field in CATALOG_OF) return label ? catalogText(label) : `#${value}`;
  if (isUserField(field)) return label ? userText(label) : `#${value}`;
  if (DATE_FIELDS.has(field)) return formatDate(value);
  if (MONEY_FIELDS.has(field)) return formatMoney(value);
  if (field in NUMBER_FIELDS) return formatNumber(value);
  return String(value);
}

/** A field of a record as a person reads it. */
export function display(record, field) {
  return formatValue(field, record[field], record[labelOf(field)]);
}

/** The roles that may edit section `number`, in the rules' order. */
export function sectionRoles(rules, number) {
  return Object.entries(rules.role_sections)
    .filter(([, sections]) => sections.includes(Number(number)))
    .map(([role]) => role);
}

export function editableSections(rules, role) {
  return (rules.role_sections[role] || []).map(Number);
}

/** The author's own text of a text field (the original), or null. */
export function originalText(record, field) {
  const set = record.texts?.[field];
  if (!set) return null;
  return set.values?.[set.source_language]?.text ?? null;
}
