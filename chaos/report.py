"""The results table: scenario x variant x database -> orders sent, completed, cancelled, lost,
effects doubled, time to drain; written to reports/chaos-<time>/results.md and printed."""
from datetime import datetime, timezone

from shared.runtime import config

HEADER = ("| scenario | variant | db | sent | accepted | completed | cancelled | lost | doubled "
          "| refused | drain s | verdict | notes |\n" + "|---" * 13 + "|")


def table(rows):
    """Return the markdown table of the rows."""
    lines = [HEADER]
    for r in rows:
        verdict = "pass" if r.passed else "**FAIL**"
        lines.append(f"| {r.scenario} | {r.variant} | {r.db} | {r.sent} | {r.accepted} "
                     f"| {r.completed} | {r.cancelled} | {r.lost} | {r.doubled} | {r.refused} "
                     f"| {r.drain_s} | {verdict} | {'; '.join(r.notes)} |")
    return "\n".join(lines)


def write(rows, audit_text, title="Fault catalogue"):
    """Write results.md (table, then every audit) under reports/; return its path."""
    folder = config.repo_root() / "reports" / f"chaos-{datetime.now(timezone.utc):%Y%m%d-%H%M%S}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "results.md"
    path.write_text(f"# {title}\n\n{LEGEND}\n\n{table(rows)}\n\n## Audits\n\n```\n{audit_text}```\n")
    return path


LEGEND = ("Counted from the clients' ledger. db: the database every service ran on; "
          "sent: order requests (keys) the clients made; "
          "accepted: keys answered 2xx; completed/cancelled: accepted orders in that final status "
          "once quiet; lost: accepted but never final or missing; doubled: a key with two orders, "
          "an order nobody asked for, second payments, shipments, notifications and units of "
          "stock held or sold twice; refused: keys never accepted; drain s: from the end of the "
          "load (faults healed) until the variant was quiet and audited. See docs/faults.md.")
