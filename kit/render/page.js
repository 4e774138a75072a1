// The decision page's only script: it reads the results computed in advance (the JSON
// block #page-data) and shows the one the controls select. It computes nothing but
// look-ups: the traffic snaps to the nearest searched level. Every value is set with
// textContent or setAttribute on elements made here: nothing from the data is parsed as HTML.
"use strict";

const DATA = JSON.parse(document.getElementById("page-data").textContent);
const SVG = "http://www.w3.org/2000/svg";
const MINUTES_A_DAY = 1440;
const $ = (id) => document.getElementById(id);

function el(tag, attrs, text) {
  const node = tag.startsWith("svg:")
    ? document.createElementNS(SVG, tag.slice(4))
    : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = String(text);
  return node;
}

function rate(x) {
  if (!(x > 0) || !isFinite(x)) return String(x);
  if (x >= 100) {
    const digits = Math.floor(Math.log10(x)) - 2; // three significant figures, like kit's rate()
    return (Math.round(x / 10 ** digits) * 10 ** digits).toLocaleString("en-US");
  }
  return String(Number(x.toPrecision(3)));
}

function money(x) {
  if (x === null || x === undefined || !isFinite(x)) return "-";
  return x < 1000
    ? "$" + x.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })
    : "$" + Math.round(x).toLocaleString("en-US");
}

function msText(x) {
  return x === null || x === undefined ? "no answer" : Math.round(x).toLocaleString("en-US") + " ms";
}

// "**bold**" in a sentence from the data becomes <strong>, everything else text.
function setRich(node, text) {
  node.replaceChildren();
  String(text)
    .split("**")
    .forEach((part, i) => node.append(i % 2 ? el("strong", {}, part) : document.createTextNode(part)));
}

const state = {
  shape: DATA.default.shape,
  p99: DATA.default.p99_ms,
  level: null, // index into the study's levels
};

function study() {
  return DATA.studies[state.shape + "|" + fmtKey(state.p99)];
}

// Python's f"{x:g}" for the targets the grid uses (integers or short decimals).
function fmtKey(x) {
  return Number.isInteger(x) ? String(x) : String(Number(x.toPrecision(6)));
}

function perDay(rpm) {
  return rpm * MINUTES_A_DAY;
}

function trafficText(level) {
  return `${rate(level.rpm)} requests a minute on average, ${rate(level.peak_rpm)} at peak (${rate(perDay(level.rpm))} a day averaged over the week)`;
}

function nearestLevel(levels, rpm) {
  let best = 0;
  levels.forEach((lv, i) => {
    if (Math.abs(Math.log(lv.rpm / rpm)) < Math.abs(Math.log(levels[best].rpm / rpm))) best = i;
  });
  return best;
}

function yoursIndex(levels) {
  return nearestLevel(levels, levels.find((lv) => Math.abs(lv.scale - 1) < 1e-9)?.rpm ?? DATA.average_rpm);
}

// -- controls ----------------------------------------------------------------------------

function setupControls() {
  $("unit").replaceChildren(
    el("option", { value: "day" }, "a day (averaged over the week)"),
    el("option", { value: "rpm" }, "a minute (average)"),
  );
  const shape = $("shape");
  DATA.shapes.forEach((s) => shape.append(el("option", { value: s.id }, `${s.label}: ${s.restated}`)));
  shape.value = state.shape;
  const target = $("target");
  DATA.targets_ms.forEach((t) => {
    const label = `p99 <= ${t.toLocaleString("en-US")} ms` + (t === DATA.default.p99_ms ? " (yours)" : "");
    target.append(el("option", { value: String(t) }, label));
  });
  target.value = String(state.p99);
  shape.addEventListener("change", () => {
    const rpm = study().levels[state.level].rpm;
    state.shape = shape.value;
    state.level = nearestLevel(study().levels, rpm);
    render();
  });
  target.addEventListener("change", () => {
    const rpm = study().levels[state.level].rpm;
    state.p99 = Number(target.value);
    state.level = nearestLevel(study().levels, rpm);
    render();
  });
  $("level").addEventListener("input", () => {
    state.level = Number($("level").value);
    render();
  });
  $("traffic-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const value = Number($("traffic-input").value);
    if (!(value > 0)) {
      $("traffic-note").textContent = "Give a positive number of requests.";
      return;
    }
    const rpm = $("unit").value === "day" ? value / MINUTES_A_DAY : value;
    state.level = nearestLevel(study().levels, rpm);
    const lv = study().levels[state.level];
    const ratio = lv.rpm / rpm;
    $("traffic-note").textContent =
      Math.abs(Math.log(ratio)) < 0.01
        ? ""
        : `Nearest level searched: ${rate(lv.rpm)} RPM (${rate(ratio)} x what you typed); ` +
          "run kit recommend with your figure for an exact search.";
    render();
  });
  $("copy").addEventListener("click", () => {
    const text = $("commands").textContent;
    const done = () => ($("copy").textContent = "Copied");
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, () => fallbackCopy(text, done));
    } else {
      fallbackCopy(text, done);
    }
  });
}

function fallbackCopy(text, done) {
  const area = el("textarea", {});
  area.value = text;
  document.body.append(area);
  area.select();
  if (document.execCommand("copy")) done();
  area.remove();
}

// -- the selected point --------------------------------------------------------------------

function render() {
  const s = study();
  const levels = s.levels;
  if (state.level === null || state.level >= levels.length) state.level = yoursIndex(levels);
  const lv = levels[state.level];
  const slider = $("level");
  slider.max = String(levels.length - 1);
  slider.value = String(state.level);
  $("level-out").textContent = trafficText(lv) + (Math.abs(lv.scale - 1) < 1e-9 ? ": yours" : `: ${rate(lv.scale)} x yours`);
  renderAnswer(s, lv);
  renderOptions(lv);
  renderPick(lv);
  renderFrontier(s, lv);
}

function renderAnswer(s, lv) {
  const box = $("answer-text");
  if (Math.abs(lv.scale - 1) < 1e-9) {
    setRich(box, s.answer);
    return;
  }
  const pick = lv.pick ? lv.families[lv.pick] : null;
  const goal = `p99 <= ${state.p99.toLocaleString("en-US")} ms`;
  if (!pick) {
    setRich(box, `At ${trafficText(lv)}, ${shapeLabel()}, with ${goal}: **no option meets the target.** ` +
      Object.values(lv.families).map((f) => `${f.label}: ${f.why_not}`).join("; ") + ".");
    return;
  }
  let text = `At ${trafficText(lv)}, ${shapeLabel()}, with ${goal}: **${pick.label}, ${money(pick.monthly)} a month**`;
  const ci = pick.ci && pick.ci.monthly;
  text += ci ? ` (90 % interval ${money(ci[0])}-${money(ci[1])}; p99 ${msText(pick.p99_ms)}).` : ` (p99 ${msText(pick.p99_ms)}).`;
  if (!pick.deployable && lv.pick_deployable) {
    const alt = lv.families[lv.pick_deployable];
    text += ` This kit cannot deploy it yet; the cheapest it can deploy is **${alt.label}**, ${money(alt.monthly)} a month.`;
  }
  const changes = s.crossovers.map((x) => `${DATA.families[x.below]} below about ${rate(x.rpm)} RPM, ${DATA.families[x.above]} above`);
  if (changes.length) text += " The cheapest option changes: " + changes.join("; ") + ".";
  setRich(box, text);
}

function shapeLabel() {
  return DATA.shapes.find((x) => x.id === state.shape).label;
}

function renderOptions(lv) {
  const body = $("options-body");
  body.replaceChildren();
  for (const [family, e] of Object.entries(lv.families)) {
    const row = el("tr", family === lv.pick ? { class: "pick" } : {});
    row.append(el("td", {}, DATA.families[family]));
    if (e.feasible) {
      row.append(el("td", {}, e.label.replace(DATA.families[family], "").replace(/^[ ,]+/, "") || e.label));
      row.append(el("td", { class: "num" }, money(e.monthly)));
      const ci = e.ci && e.ci.monthly;
      row.append(el("td", { class: "num" }, ci ? `${money(ci[0])}-${money(ci[1])}` : "-"));
      row.append(el("td", { class: "num" }, msText(e.p99_ms)));
      row.append(el("td", { class: "num" }, `${(100 * (e.cold_share || 0)).toFixed(2)} %`));
    } else {
      row.append(el("td", { colspan: 5, class: "why" }, e.why_not || "cannot meet the target"));
    }
    body.append(row);
  }
}

function renderPick(lv) {
  const family = lv.pick_deployable;
  const commands = $("commands");
  const table = $("breakdown-body");
  table.replaceChildren();
  if (!family) {
    $("pick-title").textContent = "Nothing this kit deploys meets the target at this traffic.";
    commands.textContent = "";
    $("copy").hidden = true;
    return;
  }
  const e = lv.families[family];
  $("pick-title").textContent = `${e.label}: ${money(e.monthly)} a month`;
  for (const [part, cost] of Object.entries(e.breakdown || {})) {
    if (!cost) continue;
    const row = el("tr");
    row.append(el("td", {}, part.replaceAll("_", " ")));
    row.append(el("td", { class: "num" }, money(cost)));
    table.append(row);
  }
  commands.textContent = e.commands.join("\n");
  $("copy").hidden = false;
  $("copy").textContent = "Copy";
  const checked = DATA.preflight[e.commands.join("\n")];
  $("preflight").textContent = checked === undefined
    ? "Not checked by kit preflight: run python -m kit preflight on the stack file before pulumi up."
    : checked.length
      ? "kit preflight refuses it: " + checked.join("; ")
      : "Checked by kit preflight: AWS accepts these settings.";
}

// -- the frontier plot ----------------------------------------------------------------------

function renderFrontier(s, lv) {
  const svg = $("frontier");
  svg.replaceChildren();
  const W = 900, H = 420, L = 70, R = 20, T = 20, B = 50;
  const levels = s.levels;
  const xs = levels.map((x) => x.rpm);
  const costs = levels.flatMap((x) => Object.values(x.families).filter((e) => e.feasible).map((e) => e.monthly));
  const x0 = Math.log10(Math.min(...xs) / 1.3), x1 = Math.log10(Math.max(...xs) * 1.3);
  const y0 = Math.log10(Math.max(Math.min(...costs, 1) / 1.5, 1e-3)), y1 = Math.log10(Math.max(...costs, 1) * 1.5);
  const X = (rpm) => L + ((Math.log10(rpm) - x0) / (x1 - x0)) * (W - L - R);
  const Y = (usd) => H - B - ((Math.log10(usd) - y0) / (y1 - y0)) * (H - T - B);
  // ranges where nothing meets the target, shaded
  levels.forEach((level, i) => {
    if (level.pick) return;
    const lo = i === 0 ? X(level.rpm / 1.3) : (X(levels[i - 1].rpm) + X(level.rpm)) / 2;
    const hi = i === levels.length - 1 ? X(level.rpm * 1.3) : (X(level.rpm) + X(levels[i + 1].rpm)) / 2;
    svg.append(el("svg:rect", { x: lo, y: T, width: hi - lo, height: H - T - B, class: "nothing" }));
    svg.append(el("svg:text", { x: (lo + hi) / 2, y: T + 14, "text-anchor": "middle", class: "small" }, "nothing meets it"));
  });
  // axes and ticks (decades)
  svg.append(el("svg:line", { x1: L, y1: H - B, x2: W - R, y2: H - B, class: "axis" }));
  svg.append(el("svg:line", { x1: L, y1: T, x2: L, y2: H - B, class: "axis" }));
  for (let d = Math.ceil(x0); d <= x1; d++) {
    svg.append(el("svg:line", { x1: X(10 ** d), y1: T, x2: X(10 ** d), y2: H - B, class: "grid" }));
    svg.append(el("svg:text", { x: X(10 ** d), y: H - B + 16, "text-anchor": "middle", class: "small" }, rate(10 ** d)));
  }
  for (let d = Math.ceil(y0); d <= y1; d++) {
    svg.append(el("svg:line", { x1: L, y1: Y(10 ** d), x2: W - R, y2: Y(10 ** d), class: "grid" }));
    svg.append(el("svg:text", { x: L - 6, y: Y(10 ** d) + 4, "text-anchor": "end", class: "small" }, money(10 ** d)));
  }
  svg.append(el("svg:text", { x: (L + W - R) / 2, y: H - 10, "text-anchor": "middle" }, "average requests per minute (log)"));
  svg.append(el("svg:text", { x: 14, y: (T + H - B) / 2, transform: `rotate(-90 14 ${(T + H - B) / 2})`, "text-anchor": "middle" }, "USD a month (log)"));
  // crossovers, labels inside the axes
  s.crossovers.forEach((c) => {
    svg.append(el("svg:line", { x1: X(c.rpm), y1: T, x2: X(c.rpm), y2: H - B, class: "crossover" }));
    svg.append(el("svg:text", { x: X(c.rpm) - 4, y: H - B - 6, transform: `rotate(-90 ${X(c.rpm) - 4} ${H - B - 6})`, class: "small" }, `${DATA.families[c.below]} | ${DATA.families[c.above]}: ${rate(c.rpm)} RPM`));
  });
  // your traffic and the selected level
  const you = levels.find((x) => Math.abs(x.scale - 1) < 1e-9);
  if (you) {
    svg.append(el("svg:line", { x1: X(you.rpm), y1: T, x2: X(you.rpm), y2: H - B, class: "you" }));
    svg.append(el("svg:text", { x: X(you.rpm) + 4, y: T + 30, class: "small" }, "your traffic"));
  }
  svg.append(el("svg:line", { x1: X(lv.rpm), y1: T, x2: X(lv.rpm), y2: H - B, class: "selected" }));
  // one line per family: the cheapest feasible configuration at each level
  // the selected level's pick is drawn last, on top of any line it shares
  const names = Object.keys(levels[0].families).sort((a, b) => (a === lv.pick) - (b === lv.pick));
  let legendY = H - B - 14 * (names.length + 1);
  for (const family of names) {
    const color = DATA.colors[family] || "#555";
    let path = "";
    let pen = false;
    levels.forEach((level) => {
      const e = level.families[family];
      if (e && e.feasible) {
        path += `${pen ? "L" : "M"}${X(level.rpm).toFixed(1)},${Y(e.monthly).toFixed(1)} `;
        pen = true;
      } else {
        pen = false;
        if (e) svg.append(el("svg:text", { x: X(level.rpm), y: T + 26 + 10 * Object.keys(DATA.families).indexOf(family), "text-anchor": "middle", fill: color, class: "small" }, "x"));
      }
    });
    if (path) svg.append(el("svg:path", { d: path, stroke: color, fill: "none", "stroke-width": 2 }));
    levels.forEach((level) => {
      const e = level.families[family];
      if (e && e.feasible) {
        const picked = level === lv && level.pick === family;
        svg.append(el("svg:circle", { cx: X(level.rpm), cy: Y(e.monthly), r: picked ? 7 : 3.5, fill: picked ? "white" : color, stroke: color, "stroke-width": picked ? 3 : 1 }));
      }
    });
    svg.append(el("svg:rect", { x: W - R - 250, y: legendY - 9, width: 12, height: 4, fill: color }));
    svg.append(el("svg:text", { x: W - R - 232, y: legendY - 4, class: "small" }, DATA.families[family]));
    legendY += 14;
  }
  svg.append(el("svg:text", { x: W - R - 250, y: legendY - 4, class: "small" }, "x (top): cannot meet the target there"));
}

setupControls();
render();
