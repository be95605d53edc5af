// The three printed forms of a record: the DMT tag (form DMT-001) that travels with the parts,
// the material review board sheet with its costs, and the corrective action request.

import { h } from "../dom.js";
import {
  box,
  date,
  engineeringBlock,
  inkBox,
  inkSignOff,
  label3,
  money,
  named,
  number,
  qualityBlock,
  section,
  signatureList,
  text,
  text3,
  totalCost,
  words3,
} from "./print-parts.js";

/** The title: the English words and the form's code on the first line, Spanish and Chinese below. */
function titleLines(key, code) {
  const [first, ...rest] = words3(key);
  return [
    h("span", { class: "title-main", lang: first.lang }, first.text, code ? h("span", { class: "form-code" }, ` — ${code}`) : null),
    rest.map((item) => h("span", { class: "title-sub", lang: item.lang }, item.text)),
  ];
}

/** Marks a record that Quality has not approved (not closed, or reopened). */
function notApprovedStamp() {
  return h(
    "div",
    { class: "print-stamp", id: "print-stamp", role: "note" },
    words3("print.not_approved").map((item) => h("span", { lang: item.lang }, item.text)),
  );
}

/**
 * The head of a form: its title in three languages, its number in large type, and on the right
 * the QR code (the tag) or, without one, the number itself; between them the stamp of a record
 * not approved.
 */
function formHead(record, { titleKey, code, number: shownNumber, numberField = "report_number", qr = null }) {
  const numberBlock = h(
    "div",
    { class: "print-number" },
    label3(numberField === "report_number" ? "field.report_number" : "print.car.number", "div", { class: "pf-label" }),
    h("div", { class: "number-value", dataset: { printField: numberField } }, shownNumber),
  );
  return h(
    "header",
    { class: ["print-head", qr ? "with-qr" : "number-right"] },
    h("div", { class: "print-title" }, h("h1", { id: "print-title" }, titleLines(titleKey, code)), qr ? numberBlock : null),
    record.is_closed ? null : notApprovedStamp(),
    qr || numberBlock,
  );
}

function statusBox(record) {
  return box("status", "field.status", record.status ? text3(`status.${record.status}`) : null, { data: { status: record.status || "" } });
}

/** The QR code that opens the record's page, with the address printed beside it for eyes. */
function qrCode(record) {
  const url = `${location.origin}/records/${record.id}`;
  return h(
    "figure",
    { class: "print-qr" },
    h("img", { id: "print-qr", src: `/qr/records/${record.id}.svg`, alt: text3("print.qr.alt"), width: "132", height: "132" }),
    h("figcaption", null, h("span", { class: "qr-url", id: "print-qr-url" }, url)),
  );
}

/** Form DMT-001: the tag that stays with the defective parts until they are dispositioned. */
export function tag(record) {
  return [
    formHead(record, { titleKey: "print.tag.title", code: "DMT-001", number: record.report_number, qr: qrCode(record) }),
    section(
      "section.1",
      box("part_number_id", "field.part_number_id", named(record, "part_number"), { span: 2 }),
      box("work_center_id", "field.work_center_id", named(record, "work_center")),
      box("customer_id", "field.customer_id", named(record, "customer")),
      box("level_id", "field.level_id", named(record, "level")),
      box("area_id", "field.area_id", named(record, "area")),
      box("prepared_by_id", "field.prepared_by_id", named(record, "prepared_by"), { span: 2 }),
      box("operation", "field.operation", record.operation, { span: 2 }),
      box("serial_number", "field.serial_number", record.serial_number),
      box("quantity", "field.quantity", number(record.quantity)),
      box("date", "field.date", date(record.date)),
      box("inspection_item_id", "field.inspection_item_id", named(record, "inspection_item")),
      box("process_code_id", "field.process_code_id", named(record, "process_code"), { span: 2 }),
    ),
    section("section.2", box("defect_description", "field.defect_description", text(record, "defect_description"), { span: 4, tall: true })),
    section(
      "section.4",
      box("final_disposition_id", "field.final_disposition_id", named(record, "final_disposition"), { span: 2 }),
      box("failure_code_id", "field.failure_code_id", named(record, "failure_code"), { span: 2 }),
      box("disposition_date", "field.disposition_date", date(record.disposition_date)),
      box("engineer_id", "field.engineer_id", named(record, "engineer"), { span: 2 }),
      statusBox(record),
    ),
    h("section", { class: "print-block sign-off" }, engineeringBlock(record), qualityBlock(record)),
  ];
}

/** The material review board sheet: what went wrong, what it costs, and who decided. */
export function mrb(record) {
  const total = totalCost(record);
  return [
    formHead(record, { titleKey: "print.mrb.title", number: record.report_number }),
    section(
      "print.mrb.identification",
      box("part_number_id", "field.part_number_id", named(record, "part_number"), { span: 2 }),
      box("customer_id", "field.customer_id", named(record, "customer")),
      box("work_center_id", "field.work_center_id", named(record, "work_center")),
      box("quantity", "field.quantity", number(record.quantity)),
      box("serial_number", "field.serial_number", record.serial_number),
      box("date", "field.date", date(record.date)),
      statusBox(record),
    ),
    section(
      "print.mrb.defect_analysis",
      box("defect_description", "field.defect_description", text(record, "defect_description"), { span: 4, tall: true }),
      box("process_description", "field.process_description", text(record, "process_description"), { span: 4 }),
      box("analysis", "field.analysis", text(record, "analysis"), { span: 3 }),
      box("analysis_by_id", "field.analysis_by_id", named(record, "analysis_by")),
    ),
    section(
      "print.mrb.disposition",
      box("final_disposition_id", "field.final_disposition_id", named(record, "final_disposition"), { span: 2 }),
      box("failure_code_id", "field.failure_code_id", named(record, "failure_code"), { span: 2 }),
      box("disposition_date", "field.disposition_date", date(record.disposition_date)),
      box("engineer_id", "field.engineer_id", named(record, "engineer"), { span: 2 }),
      box("responsible_department", "field.responsible_department", record.responsible_department),
      box("repair_process", "field.repair_process", text(record, "repair_process"), { span: 4 }),
      box("engineering_remarks", "field.engineering_remarks", text(record, "engineering_remarks"), { span: 4 }),
    ),
    section(
      "print.mrb.costs",
      box("rework_hours", "field.rework_hours", number(record.rework_hours), { cls: "amount" }),
      box("material_scrap_cost", "field.material_scrap_cost", money(record.material_scrap_cost), { cls: "amount", data: { amount: record.material_scrap_cost ?? "" } }),
      box("other_cost", "field.other_cost", money(record.other_cost), { cls: "amount", data: { amount: record.other_cost ?? "" } }),
      box("total_cost", "field.total_cost", money(total), { cls: "amount total", data: { amount: total ?? "" } }),
    ),
    h(
      "section",
      { class: "print-block" },
      label3("print.mrb.signoff", "h2", { class: "print-section" }),
      inkSignOff([
        { key: "print.sign.engineering", name: "engineering" },
        { key: "print.sign.quality", name: "quality" },
        { key: "print.sign.production", name: "production" },
        { key: "print.sign.plant_manager", name: "plant-manager" },
      ]),
      label3("print.sign.electronic_list", "h3", { class: "esig-title" }),
      signatureList(record),
    ),
  ];
}

/** The corrective action request raised from the record: the problem, its cause, the actions. */
export function car(record) {
  return [
    formHead(record, { titleKey: "print.car.title", number: `CAR-${record.report_number}`, numberField: "car_number" }),
    section(
      null,
      box("report_number", "field.report_number", record.report_number),
      box("date", "field.date", date(record.date)),
      box("customer_id", "field.customer_id", named(record, "customer"), { span: 2 }),
      box("part_number_id", "field.part_number_id", named(record, "part_number"), { span: 2 }),
      box("failure_code_id", "field.failure_code_id", named(record, "failure_code"), { span: 2 }),
      box("responsible_department", "field.responsible_department", record.responsible_department, { span: 2 }),
      box("sdr_number", "field.sdr_number", record.sdr_number),
      statusBox(record),
    ),
    section("print.car.problem", box("defect_description", "field.defect_description", text(record, "defect_description"), { span: 4, tall: true })),
    section("print.car.root_cause", box("analysis", "field.analysis", text(record, "analysis"), { span: 4, tall: true })),
    section(
      "print.car.actions",
      box("repair_process", "print.car.containment", text(record, "repair_process"), { span: 4, tall: true }),
      box("engineering_remarks", "print.car.corrective", text(record, "engineering_remarks"), { span: 4, tall: true }),
    ),
    section(
      "print.car.verification",
      inkBox("due_date", "print.car.due_date"),
      inkBox("completed_date", "print.car.completed_date"),
      inkBox("verified_by", "print.car.verified_by"),
      inkBox("verified_date", "print.car.verified_date"),
      inkBox("effectiveness", "print.car.effective", { span: 4, tall: true }),
    ),
    h(
      "section",
      { class: "print-block" },
      label3("print.car.signoff", "h2", { class: "print-section" }),
      inkSignOff([
        { key: "print.car.issued_by", name: "issued-by" },
        { key: "print.car.accepted_by", name: "accepted-by" },
        { key: "print.car.closed_by", name: "closed-by" },
      ]),
    ),
  ];
}
