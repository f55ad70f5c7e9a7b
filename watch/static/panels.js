// What each style holds, and the "break something" panel, for one variant each.
"use strict";

const SERVICES = ["orders", "inventory", "payments", "shipping", "notifications"];

function html(strings, ...values) {  // escape every value put into a template
  const escape = (v) => String(v ?? "-").replace(/[&<>"]/g,
      (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"})[c]);
  return strings.reduce((out, s, i) => out + s + (i < values.length ? escape(values[i]) : ""), "");
}

function drawHolding(panel, variant, numbers) {
  const rows = [html`<tr data-pending="${numbers.pending}"><th>orders PENDING</th>
      <td>${numbers.pending}</td></tr>`,
    html`<tr data-shed="${numbers.shed}"><th>answered 429 (shed) to this page</th>
      <td>${numbers.shed}</td></tr>`];
  if (variant === "orch") {
    rows.push(html`<tr data-transport="${numbers.transport}"><th>steps go over</th>
      <td>${numbers.transport}</td></tr>`,
      html`<tr data-running="${numbers.running}"><th>sagas running</th>
      <td>${numbers.running}</td></tr>`,
      html`<tr data-waiting="${numbers.waiting}"><th>of which waiting for recovery</th>
      <td>${numbers.waiting}</td></tr>`);
  }
  rows.push(...queueRows(numbers.queues));  // orch over HTTP: none
  const small = panel.closest(".variant")?.querySelector("h2 small");
  if (variant === "orch" && small && numbers.transport) {
    small.textContent = numbers.transport === "amqp"
      ? "one orchestrator sending commands over RabbitMQ" : "one orchestrator calling services over HTTP";
  }
  const programs = Object.entries(numbers.programs).map(([name, state]) =>
      html`<li class="${state}" data-program="${name}" data-state="${state}">${name}: ${state}</li>`);
  panel.innerHTML = `<h3>Holding now</h3><table>${rows.join("")}</table>
      <ul class="programs">${programs.join("") || "<li>not running</li>"}</ul>`;
}

function queueRows(queues) {  // the depth of each queue the variant's messages wait in
  if (queues === null) return [`<tr><th>queues</th><td>broker not reachable</td></tr>`];
  return queues.map((q) => html`<tr class="queue${q.ready ? " busy" : ""}" data-queue="${q.queue}"
      data-ready="${q.ready}"><th>queue ${q.queue}</th>
      <td>${q.ready} waiting, ${q.consumers} consumer(s)</td></tr>`);
}

function drawBreakPanel(panel, variant) {
  const options = SERVICES.map((s) => html`<option${s === "payments" ? " selected" : ""}>${s}</option>`);
  panel.innerHTML = `<h3>Break something</h3>
    <select class="service">${options.join("")}</select>
    <button data-action="stop">stop</button><button data-action="start">start</button>
    <button data-action="slow">slow (+1 s)</button><button data-action="flaky">flaky (50%)</button>
    <button data-action="heal">heal</button>
    <p class="did">the same from a terminal: <code class="make">-</code></p><pre class="said"></pre>`;
  panel.querySelectorAll("button").forEach((button) => button.addEventListener("click", () =>
      act(panel, variant, button.dataset.action, panel.querySelector(".service").value)));
}

async function act(panel, variant, action, service) {
  panel.querySelector(".said").textContent = `${action} ${service} ...`;
  const answer = await fetch("/api/control", {method: "POST",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify({variant, action, service})});
  const body = await answer.json();
  panel.querySelector(".make").textContent = body.make || "-";
  panel.querySelector(".said").textContent = body.error ? body.error.message
      : body.output.join("\n");
  panel.dataset.lastAction = `${action} ${service} ${body.ok ? "done" : "failed"}`;
}
