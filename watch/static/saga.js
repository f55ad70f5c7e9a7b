// Draws one order's saga from its timeline: one lane per service, one arrow per step.
//
// Choreography: every step is an event a service published to the broker. Nobody sends it to
// anybody, so each arrow goes from the publisher to the RabbitMQ lane (claim C1).
// Orchestration: a "started" step is the orchestrator's command to a service, the next step
// of that call is the service's answer, and the orchestrator's own decisions are dots.
"use strict";

const LANES = {
  choreo: ["orders", "inventory", "payments", "shipping", "notifications", "rabbitmq"],
  orch: ["orchestrator", "orders", "inventory", "payments", "shipping", "notifications"],
};
// Steps that undo an earlier one: drawn in red, marked with a return arrow.
const COMPENSATIONS = new Set(["stock.released", "payment.refunded", "shipment.cancelled",
  "release_stock", "refund_payment", "cancel_shipment"]);
const SVG = "http://www.w3.org/2000/svg";
const ROW = 26, TOP = 34, LEFT = 70;

// Where one timeline step's arrow starts and ends (the same rule the browser tests check).
function ends(variant, step) {
  if (variant === "choreo") return [step.service, "rabbitmq"];
  if (step.service === "orchestrator") return ["orchestrator", "orchestrator"];
  if (step.outcome === "started") return ["orchestrator", step.service];
  return [step.service, "orchestrator"];
}

function element(name, attributes, text) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

function drawSaga(svg, variant, steps) {
  const lanes = LANES[variant];
  const width = svg.parentElement.clientWidth || 640;
  const laneWidth = (width - LEFT) / lanes.length;
  const x = (lane) => LEFT + laneWidth * (lanes.indexOf(lane) + 0.5);
  const height = TOP + ROW * (steps.length + 1);
  svg.replaceChildren();
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("width", width);
  svg.setAttribute("height", height);
  svg.appendChild(element("defs", {})).appendChild(arrowHead(variant));
  for (const lane of lanes) {
    const g = svg.appendChild(element("g", {class: "lane", "data-lane": lane}));
    g.appendChild(element("text", {x: x(lane), y: 16, "text-anchor": "middle"}, lane));
    g.appendChild(element("line", {x1: x(lane), y1: 22, x2: x(lane), y2: height - 4}));
  }
  const start = steps.length ? Date.parse(steps[0].at) : 0;
  steps.forEach((step, i) => svg.appendChild(drawStep(variant, step, i, x, start)));
}

function drawStep(variant, step, i, x, start) {
  const [from, to] = ends(variant, step);
  const y = TOP + ROW * (i + 0.7);
  const compensation = COMPENSATIONS.has(step.step) ||
      (variant === "orch" && /^compensating/.test(step.outcome));
  const failed = /^(rejected|declined|failed|cancelled)/.test(step.outcome);
  const g = element("g", {
    class: ["step", from === to ? "mark" : "arrow", compensation ? "compensation" : "",
            failed ? "failed" : ""].join(" ").trim(),
    "data-index": i, "data-service": step.service, "data-step": step.step,
    "data-outcome": step.outcome, "data-from": from, "data-to": to, "data-at": step.at});
  const ms = Date.parse(step.at) - start;
  g.appendChild(element("text", {x: 4, y: y + 4, class: "time"}, `+${ms} ms`));
  if (from === to) {
    g.appendChild(element("circle", {cx: x(from), cy: y, r: 5}));
  } else {
    g.appendChild(element("line", {x1: x(from), y1: y, x2: x(to), y2: y,
                                   "marker-end": `url(#head-${variant})`}));
  }
  const label = `${compensation ? "\u21a9 " : ""}${step.step}: ${step.outcome}`;
  const middle = from === to ? x(from) + 10 : (x(from) + x(to)) / 2;
  g.appendChild(element("text", {x: middle, y: y - 4, class: "label",
                                 "text-anchor": from === to ? "start" : "middle"}, label));
  g.appendChild(element("title", {}, `${step.at}  ${step.service}  ${label}`));
  return g;
}

function arrowHead(variant) {
  const marker = element("marker", {id: `head-${variant}`, viewBox: "0 0 10 10", refX: 10, refY: 5,
                                    markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse"});
  marker.appendChild(element("path", {d: "M 0 0 L 10 5 L 0 10 z"}));
  return marker;
}
