"""What both styles share, and nothing that only one of them uses (`make sizes` checks it).

- domain/: the business both styles agree on: the catalog, the rules, and each service's
  operations on its own database;
- models/: the tables of each service's database, and the plumbing tables (outbox, processed
  messages, idempotency keys, heartbeats);
- http/: every service's HTTP API: the Flask app, JSON errors, validation, OpenAPI, the public
  order API and its long polling, the inspection API;
- messaging/: reliable messaging over RabbitMQ: envelope, contracts, topology, outbox, relay,
  idempotent consumer (the choreographed events; the orchestrated commands over AMQP);
- tracing/: one trace per order with OpenTelemetry, in both styles;
- runtime/: what every program runs on: configuration, the database, logs, heartbeats, fault
  settings, strict JSON.
Each style's own machinery lives in its tree (orders-choreo/, orders-orch/). Nothing in here
imports from either tree or from a tool: the variants depend on this package, never the other
way round.
"""
