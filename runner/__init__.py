"""The native runner: start a variant without Docker, supervise it, stop it cleanly.

    python -m runner up choreo          (what `make up-choreo` runs)
    python -m runner up orch --budget on   (each program in a CPU budget: runner/budgets.py)
    python -m runner stop-service choreo payments-worker
    python -m runner start-service choreo payments-worker
    python -m runner reset choreo

Processes are supervised by supervisord (a well-kept supervisor), driven through its
XML-RPC interface so that one service can be stopped and restarted while the rest run.
"""
