// The page: place orders in both variants at once, then poll once a second for what changed.
"use strict";

const VARIANTS = ["choreo", "orch"];
const KEEP = 20;                                   // orders listed per variant
const seen = {choreo: [], orch: []};               // newest first: {order_id, http, status}
const selected = {choreo: null, orch: null};

async function getJSON(url, options) {
  const answer = await fetch(url, options);
  return answer.json();
}

async function place(event) {
  event.preventDefault();
  const outcome = document.getElementById("outcome").value;
  const count = Number(document.getElementById("count").value);
  // Both at once: the choreographed answer comes at once, the orchestrated one after the saga.
  await Promise.all(VARIANTS.map(async (variant) => {
    const section = document.getElementById(variant);
    section.dataset.placing = "yes";
    const body = await getJSON(`/api/${variant}/orders`, {method: "POST",
        headers: {"Content-Type": "application/json"}, body: JSON.stringify({outcome, count})});
    section.dataset.placing = "";
    for (const a of body.answers || []) {
      if (a.order_id) seen[variant].unshift({order_id: a.order_id, http: a.status,
                                             status: a.order_status, outcome});
      else seen[variant].unshift({order_id: null, http: a.status || "no answer", outcome});
    }
    seen[variant].length = Math.min(seen[variant].length, KEEP);
    const last = seen[variant].find((o) => o.order_id);
    if (last) selected[variant] = last.order_id;
    drawOrders(variant);
    await refreshOrder(variant, selected[variant]);
  }));
}

function drawOrders(variant) {
  const list = document.querySelector(`#${variant} .orders`);
  list.innerHTML = seen[variant].map((o) => html`<li data-order-id="${o.order_id}"
      data-status="${o.status}" class="${o.order_id === selected[variant] ? "selected" : ""}">
      ${o.outcome}: POST ${o.http}, ${o.status} <small>${o.order_id}</small></li>`).join("");
  list.querySelectorAll("li[data-order-id]").forEach((li) => li.addEventListener("click", () => {
    selected[variant] = li.dataset.orderId;
    drawOrders(variant);
    refreshOrder(variant, selected[variant]);
  }));
}

async function refreshOrder(variant, orderId) {
  if (!orderId || orderId === "-") return;
  const answer = await fetch(`/api/${variant}/orders/${orderId}`);
  if (!answer.ok) return;
  const {order, steps} = await answer.json();
  const known = seen[variant].find((o) => o.order_id === orderId);
  if (known) known.status = order.status;
  if (orderId === selected[variant]) {
    const svg = document.getElementById(`saga-${variant}`);
    drawSaga(svg, variant, steps);
    svg.dataset.orderId = orderId;
    svg.dataset.status = order.status;
    svg.dataset.steps = steps.length;
  }
}

async function poll() {
  try {
    const holding = await getJSON("/api/holding");
    for (const variant of VARIANTS) {
      drawHolding(document.querySelector(`#${variant} .holding`), variant, holding[variant]);
      const open = seen[variant].filter((o) => o.order_id &&
          (o.order_id === selected[variant] || o.status === "PENDING")).slice(0, 10);
      await Promise.all(open.map((o) => refreshOrder(variant, o.order_id)));
      drawOrders(variant);
    }
    document.body.dataset.polled = String(Date.now());
  } finally {
    setTimeout(poll, 1000);
  }
}

async function start() {
  const outcomes = await getJSON("/api/outcomes");
  document.getElementById("outcome").innerHTML = outcomes.map(
      (o) => html`<option>${o}</option>`).join("");
  for (const variant of VARIANTS) {
    drawBreakPanel(document.querySelector(`#${variant} .break`), variant);
  }
  document.getElementById("place-form").addEventListener("submit", place);
  poll();
}

start();
