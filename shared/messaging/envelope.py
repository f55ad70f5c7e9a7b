"""The one message envelope every message travels in: the choreographed events, and the
orchestrated commands and replies over AMQP.

The envelope carries what a reader needs to trace a message without opening its data: who
sent it, which saga it belongs to (correlation id), which message caused it (causation id) and
the steps of the saga that led to it (trail).
"""
import json
import uuid
from dataclasses import dataclass, field

from shared.models.base import iso, utcnow
from shared.runtime import strict_json

ENVELOPE_FIELDS = ("message_id", "type", "version", "correlation_id", "causation_id",
                   "source", "occurred_at", "data", "trail")
OPTIONAL_FIELDS = ("causation_id", "trail")  # a first cause has neither
STEP_FIELDS = ("message_id", "type", "source", "occurred_at", "reason")
# A saga here is at most seven events long; the cap only keeps a loop of events (a bug) from
# growing its messages without bound.
TRAIL_LIMIT = 16


class MalformedMessage(Exception):
    """A message body that is not a valid envelope; it can never succeed, so it is dead-lettered."""


@dataclass(frozen=True)
class Envelope:
    type: str
    version: int
    source: str
    correlation_id: str
    data: dict
    causation_id: str | None = None
    message_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    occurred_at: str = field(default_factory=lambda: iso(utcnow()))
    trail: tuple = ()

    def to_json(self):
        """Serialise the envelope as the message body."""
        # vars(), not dataclasses.asdict(): asdict deep-copies the nested data before
        # json.dumps walks it anyway, a third of the cost of writing an event to the outbox.
        return json.dumps(vars(self), separators=(",", ":"))


def caused_by(cause, type, version, source, data):
    """Return a new event caused by `cause`: same correlation id, causation id = its message id,
    and `cause`'s trail with `cause` itself at its end."""
    # Trade-off 53: every event carries the steps of its saga that led to it, so whoever
    # settles an order can write its whole story in the same transaction as the outcome, and a
    # final order's timeline is complete however far behind the tracker is. The price: each
    # event grows by about 150 bytes per earlier step, and the trail shows only the chain of
    # causes, not what other services did beside it.
    trail = (*cause.trail, step(cause))[-TRAIL_LIMIT:]
    return Envelope(type=type, version=version, source=source, data=data, trail=trail,
                    correlation_id=cause.correlation_id, causation_id=cause.message_id)


def step(event):
    """What a trail keeps of one event: what its timeline row shows."""
    reason = event.data.get("reason")
    return {"message_id": event.message_id, "type": event.type, "source": event.source,
            "occurred_at": event.occurred_at, "reason": reason if isinstance(reason, str) else None}


def parse(body):
    """Read an envelope from a message body, or raise MalformedMessage saying what is wrong."""
    try:
        raw = strict_json.loads(body)
    except ValueError as exc:  # includes UnicodeDecodeError
        raise MalformedMessage(f"body is not JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise MalformedMessage("body is not a JSON object")
    missing = [name for name in ENVELOPE_FIELDS if name not in raw and name not in OPTIONAL_FIELDS]
    if missing:
        raise MalformedMessage(f"envelope lacks {', '.join(missing)}")
    texts = [name for name in ("message_id", "type", "correlation_id", "source", "occurred_at")
             if not isinstance(raw[name], str)]
    if texts or not isinstance(raw.get("causation_id"), str | None):
        raise MalformedMessage(f"envelope {', '.join(texts) or 'causation_id'} must be a string")
    if not isinstance(raw["data"], dict) or type(raw["version"]) is not int:
        raise MalformedMessage("envelope data must be an object and version an integer")
    trail = raw.get("trail", [])
    if not isinstance(trail, list) or not all(_is_step(entry) for entry in trail):
        raise MalformedMessage("envelope trail must be a list of steps, each with "
                               + ", ".join(STEP_FIELDS))
    # Tolerant reader: fields a newer envelope may add are ignored, not rejected.
    return Envelope(**{name: raw.get(name) for name in ENVELOPE_FIELDS if name != "trail"},
                    trail=tuple({name: entry.get(name) for name in STEP_FIELDS} for entry in trail))


def _is_step(entry):
    return (isinstance(entry, dict) and all(isinstance(entry.get(name), str)
                                             for name in STEP_FIELDS if name != "reason")
            and isinstance(entry.get("reason"), str | None))
