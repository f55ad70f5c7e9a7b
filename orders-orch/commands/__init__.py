"""How an orchestrated service takes commands: the machinery of orchestration that every service
of this tree (and the orchestrator) shares, and that the choreographed tree never needs.

- models.py: the bodies of each command and answer (pydantic, validated on the way in);
- internal.py: a command needs the service credential (a 403 without it);
- idempotency.py: a retried command gets its first answer, never a second effect;
- http_session.py: the caller's side, one session per thread that carries the credential;
- amqp.py and background.py: the same commands and replies by message (ORCH_TRANSPORT=amqp),
  on the shared messaging of shared/messaging/, consumed inside each service's web process.
"""
