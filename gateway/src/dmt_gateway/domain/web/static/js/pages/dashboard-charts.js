// The dashboard's charts, drawn as SVG from the analytics endpoints for the list's filters: a
// Pareto of failure codes (count or cost, with the cumulative share), the weekly trend, and the
// cost of poor quality per month. Each has its numbers as a table for those who cannot see it,
// its own empty state and its own error: one chart failing leaves the others and the list alone.

import { api } from "../api.js";
import { h, replace, s } from "../dom.js";
import { formatDate, formatMoney, formatNumber, formatPercent, language, t } from "../i18n.js";
import { problemText } from "../widgets/ui.js";

const LOCALES = { en: "en-US", es: "es-MX", zh: "zh-CN" };
const WIDTH = 640;
const HEIGHT = 300;
const MARGIN = { top: 22, right: 64, bottom: 62, left: 64 };
const PLOT_W = WIDTH - MARGIN.left - MARGIN.right;
const PLOT_H = HEIGHT - MARGIN.top - MARGIN.bottom;

function compact(value) {
  return new Intl.NumberFormat(LOCALES[language()], { notation: "compact", maximumSignificantDigits: 3 }).format(value);
}

function shortDay(iso) {
  const [year, month, day] = iso.split("-").map(Number);
  return new Intl.DateTimeFormat(LOCALES[language()], { month: "short", day: "numeric", timeZone: "UTC" }).format(new Date(Date.UTC(year, month - 1, day)));
}

function monthName(iso) {
  const [year, month] = iso.split("-").map(Number);
  return new Intl.DateTimeFormat(LOCALES[language()], { month: "short", year: "numeric", timeZone: "UTC" }).format(new Date(Date.UTC(year, month - 1, 1)));
}

/** A round step for about `parts` ticks up to `max`; whole numbers only when `whole`. */
function scale(max, { parts = 4, whole = false } = {}) {
  if (!(max > 0)) return { top: whole ? parts : 1, step: whole ? 1 : 0.25 };
  const raw = max / parts;
  const power = 10 ** Math.floor(Math.log10(raw));
  const fraction = raw / power;
  let step = (fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 2.5 ? 2.5 : fraction <= 5 ? 5 : 10) * power;
  if (whole) step = Math.max(1, Math.ceil(step));
  return { top: Math.ceil(max / step) * step, step };
}

function yOf(value, top) {
  return MARGIN.top + PLOT_H - (value / top) * PLOT_H;
}

function svgFrame(labelId) {
  return s("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, class: "chart-svg", role: "img", "aria-labelledby": labelId, preserveAspectRatio: "xMidYMid meet" });
}

/** Grid lines and tick labels on the left (or right) for a scale. */
function axis(svg, { top, step }, side, format, title) {
  const x = side === "left" ? MARGIN.left : MARGIN.left + PLOT_W;
  for (let value = 0; value <= top + step / 1000; value += step) {
    const y = yOf(value, top);
    if (side === "left") svg.append(s("line", { x1: MARGIN.left, x2: MARGIN.left + PLOT_W, y1: y, y2: y, class: "grid" }));
    svg.append(s("text", { x: side === "left" ? x - 6 : x + 6, y: y + 4, class: "tick", "text-anchor": side === "left" ? "end" : "start" }, format(value)));
  }
  const tx = side === "left" ? 14 : WIDTH - 10;
  const ty = MARGIN.top + PLOT_H / 2;
  svg.append(s("text", { x: tx, y: ty, class: "axis-title", "text-anchor": "middle", transform: `rotate(${side === "left" ? -90 : 90} ${tx} ${ty})` }, title));
}

function baseline(svg) {
  svg.append(s("line", { x1: MARGIN.left, x2: MARGIN.left + PLOT_W, y1: MARGIN.top + PLOT_H, y2: MARGIN.top + PLOT_H, class: "baseline" }));
}

function xTitle(svg, title) {
  svg.append(s("text", { x: MARGIN.left + PLOT_W / 2, y: HEIGHT - 4, class: "axis-title", "text-anchor": "middle" }, title));
}

/** Category labels under the bars, slanted, every `every`-th one when they are many. */
function xLabels(svg, labels, band, every = 1) {
  labels.forEach((label, index) => {
    if (index % every) return;
    const x = MARGIN.left + band * index + band / 2;
    const y = MARGIN.top + PLOT_H + 12;
    svg.append(s("text", { x, y, class: "tick", "text-anchor": "end", transform: `rotate(-30 ${x} ${y})` }, label));
  });
}

function dataTable(headers, rows) {
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "chart-table" },
      h("thead", null, h("tr", null, headers.map((header, i) => h("th", { scope: "col", class: i ? "number" : null }, header)))),
      h("tbody", null, rows.map((row) => h("tr", null, row.map((cell, i) => (i ? h("td", { class: "number" }, cell) : h("th", { scope: "row" }, cell)))))),
    ),
  );
}

function legend(items) {
  return h(
    "ul",
    { class: "chart-legend" },
    items.map(([kind, text]) => h("li", null, s("svg", { width: 14, height: 14, viewBox: "0 0 14 14", "aria-hidden": "true" }, kind === "line" ? s("line", { x1: 0, x2: 14, y1: 7, y2: 7, class: "swatch-line" }) : s("rect", { width: 14, height: 14, class: kind })), " ", text)),
  );
}

/** A chart's frame: title, optional controls, the drawing, and its numbers behind a disclosure. */
function panel(id, title, controls) {
  const titleId = `${id}-title`;
  const body = h("div", { class: "chart-body", "aria-live": "polite" });
  const table = h("div", { class: "chart-table-box" });
  const data = h("details", { class: "chart-data", hidden: true }, h("summary", null, t("dashboard.chart.data")), table);
  const section = h("section", { id, class: "panel chart", "aria-labelledby": titleId, "aria-busy": "false" }, h("div", { class: "chart-head" }, h("h3", { id: titleId }, title), controls), body, data);
  return {
    section,
    titleId,
    loading() {
      section.setAttribute("aria-busy", "true");
      section.dataset.state = "loading";
      if (!body.firstChild || body.querySelector(".chart-error, .chart-empty, .chart-blocked")) replace(body, h("p", { class: "loading" }, t("core.loading")));
      else body.classList.add("is-loading");
    },
    show(state, content, rows) {
      section.setAttribute("aria-busy", "false");
      section.dataset.state = state;
      body.classList.remove("is-loading");
      replace(body, content);
      data.hidden = !rows;
      if (rows) replace(table, rows);
    },
  };
}

function message(kind, text, ...extra) {
  return h("p", { class: kind, role: kind === "chart-error" ? "alert" : null }, text, ...extra);
}

function paretoDrawing(answer, titleId) {
  const bars = answer.items.map((item) => ({ label: item.label, value: item.value, count: item.count, cost: item.cost, share: item.share, cumulative: item.cumulative_share }));
  if (answer.other) {
    const last = bars.length ? bars[bars.length - 1].cumulative : 0;
    bars.push({
      label: t("dashboard.chart.other_groups", { count: formatNumber(answer.other.groups) }),
      value: answer.other.value,
      count: answer.other.count,
      cost: answer.other.cost,
      share: answer.other.share,
      cumulative: Math.min(1, last + answer.other.share),
    });
  }
  const cost = answer.measure === "cost";
  const shown = (value) => (cost ? formatMoney(value) : formatNumber(value));
  const left = scale(Math.max(...bars.map((bar) => bar.value)), { whole: !cost });
  const svg = svgFrame(titleId);
  axis(svg, left, "left", (value) => compact(value), cost ? t("dashboard.chart.axis.cost") : t("dashboard.chart.axis.records"));
  axis(svg, { top: 1, step: 0.25 }, "right", (value) => formatPercent(value), t("dashboard.chart.axis.cumulative"));
  const band = PLOT_W / bars.length;
  const width = Math.min(56, band * 0.7);
  const points = [];
  bars.forEach((bar, index) => {
    const x = MARGIN.left + band * index + (band - width) / 2;
    const y = yOf(bar.value, left.top);
    const tip = t("dashboard.chart.pareto.point", { label: bar.label, value: shown(bar.value), share: formatPercent(bar.share), cumulative: formatPercent(bar.cumulative) });
    svg.append(s("rect", { x, y, width, height: Math.max(0, MARGIN.top + PLOT_H - y), class: "bar bar-main" }, s("title", null, tip)));
    if (bars.length <= 14) svg.append(s("text", { x: x + width / 2, y: y - 4, class: "value", "text-anchor": "middle" }, cost ? compact(bar.value) : formatNumber(bar.value)));
    points.push([MARGIN.left + band * index + band / 2, yOf(bar.cumulative, 1)]);
  });
  svg.append(s("polyline", { points: points.map((p) => p.join(",")).join(" "), class: "line line-cumulative" }));
  for (const [x, y] of points) svg.append(s("circle", { cx: x, cy: y, r: 3.5, class: "dot dot-cumulative" }));
  baseline(svg);
  // The code part of "FC-03 - Equipment malfunction" under the bar; the whole label is in the tooltip and the table.
  xLabels(
    svg,
    bars.map((bar) => {
      const code = bar.label.split(" - ")[0];
      return code.length > 14 ? `${code.slice(0, 13)}…` : code;
    }),
    band,
  );
  xTitle(svg, t("field.failure_code_id"));
  const rows = dataTable(
    [t("field.failure_code_id"), t("dashboard.chart.axis.records"), t("dashboard.chart.axis.cost"), t("dashboard.chart.share"), t("dashboard.chart.cumulative")],
    bars.map((bar) => [bar.label, formatNumber(bar.count), formatMoney(bar.cost), formatPercent(bar.share), formatPercent(bar.cumulative)]),
  );
  const content = [
    legend([
      ["bar-main", cost ? t("dashboard.chart.axis.cost") : t("dashboard.chart.axis.records")],
      ["line", t("dashboard.chart.axis.cumulative")],
    ]),
    svg,
    answer.unresolved?.length ? h("p", { class: "muted" }, t("dashboard.chart.unresolved")) : null,
  ];
  return { content, rows };
}

function trendDrawing(answer, titleId) {
  const items = answer.items;
  const left = scale(Math.max(...items.map((item) => item.count)), { whole: true });
  const right = scale(Math.max(...items.map((item) => item.cost)));
  const svg = svgFrame(titleId);
  axis(svg, left, "left", (value) => compact(value), t("dashboard.chart.axis.records"));
  axis(svg, right, "right", (value) => compact(value), t("dashboard.chart.axis.cost"));
  const band = PLOT_W / items.length;
  const width = Math.max(2, Math.min(40, band * 0.7));
  const points = [];
  items.forEach((item, index) => {
    const x = MARGIN.left + band * index + (band - width) / 2;
    const y = yOf(item.count, left.top);
    const tip = t("dashboard.chart.trend.point", { date: formatDate(item.period_start), count: formatNumber(item.count), cost: formatMoney(item.cost) });
    svg.append(s("rect", { x, y, width, height: Math.max(0, MARGIN.top + PLOT_H - y), class: "bar bar-main" }, s("title", null, tip)));
    if (items.length <= 16 && item.count) svg.append(s("text", { x: x + width / 2, y: y - 4, class: "value", "text-anchor": "middle" }, formatNumber(item.count)));
    points.push([MARGIN.left + band * index + band / 2, yOf(item.cost, right.top)]);
  });
  svg.append(s("polyline", { points: points.map((p) => p.join(",")).join(" "), class: "line line-cost" }));
  if (items.length <= 60) for (const [x, y] of points) svg.append(s("circle", { cx: x, cy: y, r: 3, class: "dot dot-cost" }));
  baseline(svg);
  xLabels(
    svg,
    items.map((item) => shortDay(item.period_start)),
    band,
    Math.ceil(items.length / 14),
  );
  xTitle(svg, t("dashboard.chart.axis.week"));
  const rows = dataTable(
    [t("dashboard.chart.axis.week"), t("dashboard.chart.axis.records"), t("dashboard.chart.axis.cost")],
    items.map((item) => [formatDate(item.period_start), formatNumber(item.count), formatMoney(item.cost)]),
  );
  const content = [
    legend([
      ["bar-main", t("dashboard.chart.axis.records")],
      ["line", t("dashboard.chart.axis.cost")],
    ]),
    svg,
  ];
  return { content, rows };
}

function copqDrawing(answer, titleId) {
  const months = answer.by_month;
  const parts = [
    ["rework_cost", "part-rework", t("dashboard.chart.copq.rework")],
    ["scrap_cost", "part-scrap", t("dashboard.chart.copq.scrap")],
    ["other_cost", "part-other", t("dashboard.chart.copq.other")],
  ];
  const summary = h(
    "dl",
    { class: "copq-summary" },
    h("div", { class: "copq-total" }, h("dt", null, t("dashboard.chart.copq.total")), h("dd", { id: "copq-total" }, formatMoney(answer.total))),
    h(
      "div",
      null,
      h("dt", null, t("dashboard.chart.copq.rework")),
      h("dd", null, formatMoney(answer.rework_cost), h("small", null, t("dashboard.chart.copq.rework_detail", { hours: formatNumber(answer.rework_hours, 1), rate: formatMoney(answer.hourly_rate) }))),
    ),
    h("div", null, h("dt", null, t("dashboard.chart.copq.scrap")), h("dd", null, formatMoney(answer.scrap_cost))),
    h("div", null, h("dt", null, t("dashboard.chart.copq.other")), h("dd", null, formatMoney(answer.other_cost))),
  );
  const top = scale(Math.max(...months.map((month) => month.total)));
  const svg = svgFrame(titleId);
  axis(svg, top, "left", (value) => compact(value), t("dashboard.chart.axis.cost"));
  const band = PLOT_W / Math.max(1, months.length);
  const width = Math.min(64, band * 0.65);
  months.forEach((month, index) => {
    const x = MARGIN.left + band * index + (band - width) / 2;
    let base = MARGIN.top + PLOT_H;
    const tip = t("dashboard.chart.copq.point", {
      month: monthName(month.period_start),
      rework: formatMoney(month.rework_cost),
      scrap: formatMoney(month.scrap_cost),
      other: formatMoney(month.other_cost),
      total: formatMoney(month.total),
    });
    for (const [key, kind] of parts) {
      const height = (month[key] / top.top) * PLOT_H;
      if (height <= 0) continue;
      base -= height;
      svg.append(s("rect", { x, y: base, width, height, class: `bar ${kind}` }, s("title", null, tip)));
    }
    if (months.length <= 18) svg.append(s("text", { x: x + width / 2, y: yOf(month.total, top.top) - 4, class: "value", "text-anchor": "middle" }, compact(month.total)));
  });
  baseline(svg);
  xLabels(
    svg,
    months.map((month) => monthName(month.period_start)),
    band,
    Math.ceil(months.length / 14),
  );
  xTitle(svg, t("dashboard.chart.axis.month"));
  const rows = dataTable(
    [t("dashboard.chart.axis.month"), t("dashboard.chart.axis.records"), t("dashboard.chart.copq.hours"), t("dashboard.chart.copq.rework"), t("dashboard.chart.copq.scrap"), t("dashboard.chart.copq.other"), t("dashboard.chart.copq.total")],
    months.map((month) => [monthName(month.period_start), formatNumber(month.count), formatNumber(month.rework_hours, 1), formatMoney(month.rework_cost), formatMoney(month.scrap_cost), formatMoney(month.other_cost), formatMoney(month.total)]),
  );
  return { content: [summary, legend(parts.map(([, kind, text]) => [kind, text])), svg], rows };
}

/**
 * The charts' section. `measure` is the Pareto's ("count" or "cost"); `onMeasure(measure)` keeps
 * a change in the address. `load(filters)` draws all three for the list's filters.
 */
export function chartsSection({ measure = "count", onMeasure = () => {} }) {
  let filters = null;
  let current = measure;
  const tickets = { pareto: 0, trend: 0, copq: 0 };
  let disposed = false;

  const measureButton = (value, text) =>
    h(
      "button",
      {
        type: "button",
        id: `pareto-${value}`,
        class: "toggle",
        "aria-pressed": String(value === current),
        onclick: () => {
          if (current === value) return;
          current = value;
          for (const button of switcher.querySelectorAll("button")) button.setAttribute("aria-pressed", String(button.id === `pareto-${value}`));
          onMeasure(value);
          if (filters) loadPareto();
        },
      },
      text,
    );
  const switcher = h(
    "div",
    { class: "segmented", role: "group", "aria-label": t("dashboard.chart.pareto.measure") },
    measureButton("count", t("dashboard.chart.pareto.count")),
    measureButton("cost", t("dashboard.chart.pareto.cost")),
  );

  const pareto = panel("chart-pareto", t("dashboard.chart.pareto.title"), switcher);
  const trend = panel("chart-trend", t("dashboard.chart.trend.title"));
  const copq = panel("chart-copq", t("dashboard.chart.copq.title"));

  const element = h(
    "section",
    { class: "charts", "aria-labelledby": "charts-title" },
    h("h2", { id: "charts-title" }, t("dashboard.charts.title")),
    h("div", { class: "charts-grid" }, pareto.section, trend.section, copq.section),
  );

  async function draw(name, box, path, query, empty, drawing) {
    const ticket = ++tickets[name];
    box.loading();
    let answer;
    try {
      answer = await api.get(path, query);
    } catch (error) {
      if (disposed || ticket !== tickets[name]) return;
      const retry = h("button", { type: "button", class: "link", onclick: () => draw(name, box, path, query, empty, drawing) }, t("dashboard.chart.retry"));
      box.show("error", message("chart-error", problemText(error), " ", retry), null);
      return;
    }
    if (disposed || ticket !== tickets[name]) return;
    if (empty(answer)) {
      box.show("empty", message("chart-empty", t("dashboard.chart.empty")), null);
      return;
    }
    const { content, rows } = drawing(answer, box.titleId);
    box.show("drawn", content, rows);
  }

  function loadPareto() {
    return draw("pareto", pareto, "/analytics/pareto", { ...filters, by: "failure_code", measure: current, language: language() }, (a) => !a.total_count, paretoDrawing);
  }

  return {
    element,
    load(next) {
      filters = next;
      loadPareto();
      draw("trend", trend, "/analytics/trend", { ...filters, interval: "week", language: language() }, (a) => !a.items.some((item) => item.count), trendDrawing);
      draw("copq", copq, "/analytics/cost-of-poor-quality", filters, (a) => !a.count, copqDrawing);
    },
    /** The list's filters were refused: the charts would be refused too. */
    blocked() {
      filters = null;
      for (const [name, box] of [
        ["pareto", pareto],
        ["trend", trend],
        ["copq", copq],
      ]) {
        tickets[name] += 1;
        box.show("blocked", message("chart-blocked muted", t("dashboard.chart.blocked")), null);
      }
    },
    dispose() {
      disposed = true;
    },
  };
}
