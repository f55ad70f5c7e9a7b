"""The variant behind Locust's --host: where its other services listen, what it holds right
now, and the audit of a run against it.

Locust knows one URL, the orders API's. The audit and the live state need the others: they
are found at the same offset from their default ports as the orders API is from its own
(`make up-choreo`: 8001, 8011, ...; a variant started with every port moved by 21000: 29001,
29011, ...). Which variant it is, is told (`--variant`) or read from the port.
"""
import io
from urllib.parse import urlsplit

import requests

from audit import __main__ as audit_cli
from shared.runtime import config

ORDERS_PORT = {style: ports["orders"] for style, ports in config.DEFAULT_PORTS.items()}


def services(host, variant="auto"):
    """Return (style, {service: base URL}) of the variant behind `host`, or None when it cannot
    be told (a port that is no variant's default, and no --variant)."""
    if not host:
        return None
    parts = urlsplit(host)
    style = variant if variant in ORDERS_PORT else next(
        (s for s, port in ORDERS_PORT.items() if port == parts.port), None)
    if style is None or parts.port is None:
        return None
    offset = parts.port - ORDERS_PORT[style]
    return style, {s: f"{parts.scheme}://{parts.hostname}:{p + offset}"
                   for s, p in config.DEFAULT_PORTS[style].items()}


def audit(style, urls, ledger_path, wait_s):
    """Wait until quiet, audit the variant and the ledger; return (ok, the printed verdict)."""
    where = {"amqp_url": config.amqp_url()} if style == "choreo" else {
        "orchestrator_url": urls["orchestrator"]}
    five = {s: urls[s] for s in audit_cli.SERVICES}
    results, _ = audit_cli.audit_when_quiet(style, five, wait_s, ledger=ledger_path, **where)
    out = io.StringIO()
    return audit_cli.report(results, out), out.getvalue()


def live_rows(style, urls):
    """Return the tab's rows of what the variant holds now: choreo, each queue's messages and
    consumers (the broker's management API); orch, sagas running and waiting for recovery
    (the orchestrator's inspection API) and, over AMQP, its command and reply queues."""
    with requests.Session() as http:
        if style == "choreo":
            return _queue_rows(http, lambda name: "commands" not in name and "replies" not in name)
        rows = [_saga_row(http, urls["orchestrator"], state, what) for state, what in
                (("running", "sagas running"), ("stuck", "sagas waiting for recovery"))]
        return rows + _queue_rows(http, lambda name: "commands" in name or "replies" in name)


def _saga_row(http, orchestrator, state, what):
    try:
        page = http.get(f"{orchestrator}/sagas", params={"state": state, "limit": 1000},
                        timeout=2).json()
        count = f"{len(page['items'])}{'+' if page.get('next') else ''}"
        return {"what": what, "count": count, "note": "now, from the orchestrator"}
    except (requests.RequestException, ValueError, KeyError):
        return {"what": what, "note": "the orchestrator does not answer"}


def _queue_rows(http, keep):
    try:
        listed = http.get(config.management_queues_url(), timeout=2, params={
            "columns": "name,messages_ready,messages_unacknowledged,consumers"}).json()
    except (requests.RequestException, ValueError):
        return []
    return [{"what": f"queue {q['name']}", "count": q.get("messages_ready"),
             "note": f"{q.get('messages_unacknowledged')} unacked, {q.get('consumers')} consumers"}
            for q in sorted(listed, key=lambda q: q["name"]) if keep(q["name"])]
