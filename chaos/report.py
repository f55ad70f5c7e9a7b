"""The results table: scenario x variant -> orders sent, completed, cancelled, lost, effects
doubled, time to drain; written to reports/chaos-<time>/results.md and printed."""
from datetime import datetime, timezone

from shared import config

HEADER = ("| scenario | variant | sent | accepted | completed | cancelled | lost | doubled "
          "| refused | drain s | verdict | notes |\n|---|---|---|---|---|---|---|---|---|---|---|---|")


def table(rows):
    """Return the markdown table of the rows."""
    lines = [HEADER]
    for r in rows:
        verdict = "pass" if r.passed else "**FAIL**"
        lines.append(f"| {r.scenario} | {r.variant} | {r.sent} | {r.accepted} | {r.completed} "
                     f"| {r.cancelled} | {r.lost} | {r.doubled} | {r.refused} | {r.drain_s} | {verdict} "
                     f"| {'; '.join(r.notes)} |")
    return "\n".join(lines)


def write(rows, audit_text, title="Fault catalogue"):
    """Write results.md (table, then every audit) under reports/; return its path."""
    folder = config.repo_root() / "reports" / f"chaos-{datetime.now(timezone.utc):%Y%m%d-%H%M%S}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "results.md"
    path.write_text(f"# {title}\n\n{LEGEND}\n\n{table(rows)}\n\n## Audits\n\n```\n{audit_text}```\n")
    return path


LEGEND = ("Counted from the clients' ledger. sent: order requests (keys) the clients made; "
          "accepted: keys answered 2xx; completed/cancelled: accepted orders in that final status "
          "once quiet; lost: accepted but never final or missing; doubled: a key with two orders, "
          "an order nobody asked for, second payments, shipments, notifications and units of "
          "stock held or sold twice; refused: keys never accepted; drain s: from the end of the "
          "load (faults healed) until the variant was quiet and audited. See docs/faults.md.")
