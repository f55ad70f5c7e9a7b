"""The claims' explanations in make demo's report state the concurrency the run really had."""
from load import claims


def _summary(finished_per_s, env=None):
    return {"finished_per_s": finished_per_s, "users": 24, "final": {50: 900, 95: 1500},
            "post": {95: 40}, "cpu_ms_per_order": 60, "env": env or {}, "peak_per_s":
            finished_per_s, "shed": 0}


def _text(paragraphs):
    return "\n".join(text for _kind, text in paragraphs)


def test_c8_explains_the_cap_from_the_consumers_and_latency_of_the_run(monkeypatch):
    monkeypatch.setenv("CONSUMER_THREADS", "3")
    runs = {("slow-dependency", "choreo"): _summary(12.0, {"PAYMENTS_FAULT_LATENCY_MS": "250"}),
            ("slow-dependency", "orch"): _summary(30.0)}
    text = _text(claims.c8_slow_dependency(runs))
    assert "each of the 3 consumers of payments' queue" in text
    assert "caps payments at 3 x 1000/250 = 12 messages/s" in text
    assert "the orchestrated payments API serves 16 threads" in text  # runner/processes.py


def test_c10_names_what_a_second_choreographed_replica_doubles(monkeypatch):
    monkeypatch.setenv("CONSUMER_THREADS", "2")
    runs = {(scenario, variant): _summary(rate)
            for (scenario, variant), rate in {("steady", "choreo"): 70.0,
                                              ("scale-out", "choreo"): 90.0,
                                              ("steady", "orch"): 30.0,
                                              ("scale-out", "orch"): 31.0}.items()}
    text = _text(claims.c10_scale_out(runs))
    assert "with 2 workers per service (2 -> 4 consumers per queue)" in text
    assert "with 2 orchestrator replicas" in text


def test_c5_names_the_orchestrators_budget_the_run_had(monkeypatch):
    monkeypatch.setenv("ORCH_SYNC_BUDGET_MS", "1500")
    assert "1.5 s budget (ORCH_SYNC_BUDGET_MS)" in claims._c5_verdict(
        {"choreo": 0.95, "orch": 1.0}, {"choreo": 40, "orch": 1800})
    assert "past its 1.5 s budget" in claims._c5_verdict(
        {"choreo": 0.95, "orch": 0.5}, {"choreo": 40, "orch": 1800})
