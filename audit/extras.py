"""What the audit lists beside the invariants: dead letters (choreographed: read from the
broker's dead-letter queue, where the consumers put them) and stuck sagas (orchestrated:
`GET /sagas?state=stuck` on the orchestrator). Both are read-only.

A poison message (it can never succeed) belongs in the dead-letter queue: it is listed, not a
violation. Any other dead letter is an event whose work was given up: a violation until
someone replays it (`make replay-dead-letters`). A stuck saga is unfinished work: a violation.
"""
import requests

from audit.fetch import all_items
from ops.deadletters import list_dead_letters


def dead_letters(amqp_url):
    """Return (name, counts, violations, listing) for the broker's dead-letter queue."""
    letters = list_dead_letters(amqp_url)
    listing = [f"{d['queue']}: {d['reason']} (message {d['message_id']})" for d in letters]
    poison = [d for d in letters if str(d["reason"]).startswith("poison")]
    bad = [f"work given up: {line}" for d, line in zip(letters, listing) if d not in poison]
    return ("no work dead-lettered", {"dead letters": len(letters), "poison": len(poison)},
            bad, listing)


def stuck_sagas(orchestrator_url):
    """Return (name, counts, violations, listing) for the orchestrator's stuck sagas."""
    with requests.Session() as session:
        stuck = all_items(session, orchestrator_url, "/sagas", "state=stuck")
    listing = [f"saga {s['saga_id']} {s['state']} at step {s['cursor']}, {s['retries']} "
               f"retries: {s['last_error']}" for s in stuck]
    return "no saga stuck", {"stuck": len(stuck)}, listing, listing
