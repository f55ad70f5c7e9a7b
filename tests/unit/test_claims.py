"""The claims' verdicts in make demo's report name a mechanism only when the run's figures show
it: each sentence has a run where it must appear and one where it must not."""
import json

import pytest

from load import __main__ as load_cli
from load import claims, costs, results
from tests.unit import fake_runs
from tests.unit.fake_runs import budget, summary

BUDGET_RAN_OUT = "came once the orchestrator's 3 s budget (ORCH_SYNC_BUDGET_MS) ran out"
PARKED = "those sagas were parked during the outage and resumed after it"


def _text(paragraphs):
    return "\n".join(text for _kind, text in paragraphs)


@pytest.fixture(autouse=True)
def _default_settings(monkeypatch):
    for name in ("ORCH_SYNC_BUDGET_MS", "ORCH_MAX_IN_FLIGHT", "CONSUMER_THREADS"):
        monkeypatch.delenv(name, raising=False)


def _c5(tmp_path, orch_answers, **orch):
    """Return the C5 paragraphs of two fabricated outage runs (choreo answers 202 in 20 ms)."""
    folders = {("outage", "choreo"): fake_runs.outage_run(tmp_path / "choreo", "choreo",
                                                          [(202, 20)] * 80),
               ("outage", "orch"): fake_runs.outage_run(tmp_path / "orch", "orch", orch_answers,
                                                        **orch)}
    runs = {key: results.summary(folder) for key, folder in folders.items()}
    return _text(claims.c5_outage(runs, folders))


def test_c5_answers_before_the_budget_do_not_say_the_budget_ran_out(tmp_path):
    # the run readers questioned: POST p95 990 ms against a 3 s budget, 202s answered
    text = _c5(tmp_path, [(202, 400)] * 60 + [(202, 990)] * 16 + [(202, 1000)] * 4
               + [(201, 400)] * 5)
    assert "ran out" not in text and "runs out" not in text
    assert "Its 80 202 answers to orders placed during the outage came in p95 990 ms" in text
    assert "(max 1000 ms), before the orchestrator's 3 s budget (ORCH_SYNC_BUDGET_MS)" in text


def test_c5_says_the_budget_ran_out_when_the_202s_waited_for_it(tmp_path):
    text = _c5(tmp_path, [(202, 2950 + i) for i in range(60)] + [(202, 500)] * 20)
    assert f"60 of its 80 202 answers to orders placed during the outage {BUDGET_RAN_OUT}" in text
    assert "the other 20 came before it" in text


def test_c5_names_the_budget_the_run_had(tmp_path, monkeypatch):
    monkeypatch.setenv("ORCH_SYNC_BUDGET_MS", "1500")
    text = _c5(tmp_path, [(202, 1400)] * 10)
    assert "came once the orchestrator's 1.5 s budget (ORCH_SYNC_BUDGET_MS) ran out" in text


def test_c5_without_answer_times_does_not_say_how_long_the_posts_waited(tmp_path):
    text = _c5(tmp_path, [(202, 3100)] * 10, timed=False)
    assert "ran out" not in text and "runs out" not in text
    assert "ledger has no answer times" in text


def test_c5_says_sagas_were_parked_only_when_orders_were_pending_at_the_restart(tmp_path):
    assert PARKED in _c5(tmp_path / "a", [(202, 500)] * 10, pending_at_restart=7)
    assert "7 orchestrated orders were still PENDING when payments came back" in _c5(
        tmp_path / "b", [(202, 500)] * 10, pending_at_restart=7)
    assert PARKED not in _c5(tmp_path / "c", [(202, 500)] * 10, pending_at_restart=0)
    assert PARKED not in _c5(tmp_path / "d", [(202, 500)] * 10, pending_at_restart=7,
                             audit_ok=False)


def _c5_with_amqp(tmp_path, amqp_answers, pending, orch_answers=((202, 500),) * 10):
    """Return the C5 paragraphs with orch-amqp's outage run beside the two styles'."""
    folders = {("outage", "choreo"): fake_runs.outage_run(tmp_path / "choreo", "choreo",
                                                          [(202, 20)] * 80),
               ("outage", "orch"): fake_runs.outage_run(tmp_path / "orch", "orch",
                                                        list(orch_answers)),
               ("outage", "orch-amqp"): fake_runs.outage_run(
                   tmp_path / "orch-amqp", "orch-amqp", amqp_answers, pending_at_restart=pending)}
    runs = {key: results.summary(folder) for key, folder in folders.items()}
    return _text(claims.c5_outage(runs, folders))


HELD = "its sagas waiting for payments' replies kept their in-flight slots"


def test_c5_says_why_orch_amqp_refused_orders_only_when_its_pending_sagas_filled_the_bound(
        tmp_path):
    full = _c5_with_amqp(tmp_path / "a", [(202, 900)] * 61 + [(429, 30)] * 12, pending=64)
    assert "orch-amqp refused 12 of the orders placed during the outage with 429: " + HELD in full
    assert "(most orders PENDING at once 64, its bound ORCH_MAX_IN_FLIGHT 64)" in full
    assert "over HTTP, where a saga whose step keeps failing is parked" in full
    below = _c5_with_amqp(tmp_path / "b", [(202, 900)] * 61 + [(429, 30)] * 12, pending=40)
    assert "orch-amqp refused 12 of the orders placed during the outage with 429." in below
    assert HELD not in below
    none = _c5_with_amqp(tmp_path / "c", [(202, 900)] * 70, pending=64)
    assert "refused" not in none and HELD not in none
    http_too = _c5_with_amqp(tmp_path / "d", [(429, 30)] * 12, pending=64,
                             orch_answers=[(202, 500)] * 5 + [(429, 20)] * 5)
    assert HELD in http_too and "over HTTP" not in http_too
    assert "orch refused 5 of the orders placed during the outage with 429." in http_too


def _c8(choreo, orch):
    latency = {"PAYMENTS_FAULT_LATENCY_MS": "200"}
    return _text(claims.c8_slow_dependency({
        ("slow-dependency", "choreo"): summary(**{"env": latency, **choreo}),
        ("slow-dependency", "orch"): summary(**{"env": latency, **orch})}))


EQUAL = {"concurrency": {"setting": 16, "per_service": 16}}


def test_c8_states_the_concurrency_both_styles_ran_at():
    text = _c8(EQUAL, EQUAL)
    assert ("Both styles ran at the same concurrency, CONCURRENCY=16: 16 consumers per queue in "
            "each choreographed worker, 16 request threads in each orchestrated service API"
            in text)
    assert "one at a time" not in text
    unequal = _c8({"concurrency": {"setting": 16, "per_service": 2}}, EQUAL)
    assert "did not run at the same concurrency: 2 consumers per queue" in unequal
    assert "did not record their concurrency" in _c8({}, {})


def test_c8_says_messages_queued_at_payments_only_when_its_queue_grew():
    grew = _c8({**EQUAL, "queue_peaks": {"payments.events": 120, "orders.tracker": 3}}, EQUAL)
    assert "Messages queued at payments: up to 120 waited ready in payments.events" in grew
    still = _c8({**EQUAL, "queue_peaks": {"payments.events": 0}}, EQUAL)
    assert "queued at payments" not in still
    assert "no message waited in payments' queue" in still


def test_c8_says_the_orchestrator_bounded_its_sagas_only_when_it_shed():
    assert "it shed 12 orders with 429 at 64 sagas in flight" in _c8(EQUAL, {**EQUAL, "shed": 12})
    assert "shed 0" not in _c8(EQUAL, EQUAL) and "bounded its sagas" not in _c8(EQUAL, EQUAL)


def test_c8_names_a_component_that_saturated_its_cpu_budget():
    full = budget({"payments-worker": 0.95, "orders-api": 0.3})
    text = _c8({**EQUAL, "budget": full}, EQUAL)
    assert "payments-worker used 0.95 of its 1 core (saturated)" in text
    calm = _c8({**EQUAL, "budget": budget({"payments-worker": 0.5})}, EQUAL)
    assert "saturated" not in calm and "no program reached its CPU budget" in calm


def test_c8_says_payments_concurrency_was_the_limit_only_near_its_ceiling():
    near = _c8({**EQUAL, "finished_per_s": 75.0}, EQUAL)
    assert ("94% of the 16 x 1000/200 = 80 payments a second that 16 consumers allow at 200 ms "
            "each: payments' concurrency was its limit") in near
    assert "concurrency was its limit" not in _c8({**EQUAL, "finished_per_s": 30.0}, EQUAL)


def test_c9_says_the_bound_was_never_exceeded_only_when_nothing_was_shed(monkeypatch):
    monkeypatch.setenv("ORCH_MAX_IN_FLIGHT", "32")
    calm = _text(claims.c9_regulation({("steady", "orch"): summary(shed=0)}))
    assert "never held more than ORCH_MAX_IN_FLIGHT (32) sagas in flight" in calm
    busy = _text(claims.c9_regulation({("steady", "orch"): summary(
        shed=40, shed_ms={50: 2700, 95: 3000})}))
    assert "never held" not in busy and "No order was shed" not in busy
    assert "refused with 429, answered in p50/p95 2700/3000 ms" in busy


def test_c9_says_sagas_were_resumed_only_when_the_outage_run_shows_it(tmp_path):
    alone = _text(claims.c9_regulation({("steady", "orch"): summary()}))
    assert "resumed" not in alone and "the outage scenario did not run" in alone
    outage = results.summary(fake_runs.outage_run(tmp_path / "o", "orch", [(202, 500)] * 10,
                                                  pending_at_restart=4))
    healed = _text(claims.c9_regulation({("steady", "orch"): summary(),
                                         ("outage", "orch"): outage}))
    assert "4 orders were still PENDING when payments came back" in healed
    assert "their sagas were resumed" in healed


def _ramp(variant, peaks, budgets=None, scenario_names=("steady", "scale-out-2", "scale-out-4")):
    replicas = (1, 2, 4)
    return {(name, variant): summary(peak_per_s=peak, replicas=n,
                                     **({"budget": budgets[i]} if budgets else {}))
            for i, (name, n, peak) in enumerate(zip(scenario_names, replicas, peaks))}


def test_c10_names_the_component_that_stopped_the_line_with_its_use():
    steps = [budget({"orchestrator-0": 0.98, "database": 0.5}),
             budget({"orchestrator-0": 0.7, "orchestrator-1": 0.7, "database": 0.8}),
             budget({f"orchestrator-{i}": 0.45 for i in range(4)} | {"database": 0.97})]
    text = _text(claims.c10_scale_out(_ramp("orch", (30.0, 54.0, 60.0), steps)))
    assert ("orch at 1: limited by the orchestrator replicas themselves: orchestrator-0 used "
            "0.98") in text
    assert "orch at 4: the line stopped at database: database used 0.97 of its 1 core" in text
    assert "60.0 with 4: x2.00 against 1 (linear: x4, so 50% of linear)" in text
    assert "54.0 with 2: x1.80 against 1 (linear: x2, so 90% of linear)" in text
    assert "cannot show linear scaling" not in text


def test_c10_says_the_line_is_still_limited_by_the_replicas_when_they_stay_saturated():
    steps = [budget({"orchestrator-0": 0.98}),
             budget({"orchestrator-0": 0.95, "orchestrator-1": 0.96, "database": 0.4}),
             budget({f"orchestrator-{i}": 0.93 for i in range(4)} | {"database": 0.6})]
    text = _text(claims.c10_scale_out(_ramp("orch", (30.0, 58.0, 110.0), steps)))
    assert "orch at 4: still limited by the orchestrator replicas themselves" in text
    assert "stopped at database" not in text


def test_c10_names_the_replicas_first_when_they_used_more_of_their_budget_than_another():
    # the orders API is saturated by its throttling, but a replica used nearly all its core
    steps = [budget({"orchestrator-0": 0.97, "orders-api": 0.5}, throttled={"orders-api": 0.3}),
             budget({"orchestrator-0": 0.96, "orchestrator-1": 0.95, "orders-api": 0.6},
                    throttled={"orders-api": 0.3}),
             budget({f"orchestrator-{i}": 0.5 for i in range(4)} | {"orders-api": 0.99})]
    text = _text(claims.c10_scale_out(_ramp("orch", (30.0, 40.0, 45.0), steps)))
    assert ("orch at 2: still limited by the orchestrator replicas themselves: orchestrator-0 "
            "used 0.96 of its 1 core; saturated too: orchestrator-1, orders-api") in text
    assert "orch at 4: the line stopped at orders-api: orders-api used 0.99" in text


def test_c10_says_when_the_orchestrator_replicas_were_unevenly_loaded():
    steps = [budget({"orchestrator-0": 0.97}),
             budget({"orchestrator-0": 0.3, "orchestrator-1": 0.97}),
             budget({f"orchestrator-{i}": 0.6 for i in range(4)} | {"database": 0.95})]
    text = _text(claims.c10_scale_out(_ramp("orch", (30.0, 33.0, 70.0), steps)))
    assert ("orch at 2: still limited by the orchestrator replicas themselves: orchestrator-1 "
            "used 0.97 of its 1 core (the replicas were unevenly loaded: orchestrator-1 used "
            "0.97 cores, orchestrator-0 0.30)") in text
    assert "unevenly" not in text.split("orch at 4")[1]


def test_c10_without_a_saturated_program_gives_the_machine_s_use():
    steps = [budget({"orchestrator-0": 0.97}), budget({"orchestrator-0": 0.5, "broker": 0.4}),
             budget({"orchestrator-0": 0.5, "orchestrator-1": 0.6, "broker": 0.7})]
    text = _text(claims.c10_scale_out(_ramp("orch", (30.0, 33.0, 34.0), steps)))
    assert ("orch at 4: no program reached its CPU budget (the busiest: broker used 0.70 of its "
            "1 core); together the programs used 1.8 of the machine's 2 cores") in text


def test_c10_with_budgets_off_names_no_component_and_gives_the_total_cpu_use():
    off = budget({"orchestrator-0": 0.9, "database": 0.7}, mode="off")
    text = _text(claims.c10_scale_out(_ramp("orch", (30.0, 31.0, 29.0), [off, off, off])))
    assert ("the CPU budgets were off (no cgroup here): the programs shared the machine's 2 "
            "cores, so no program owned a CPU to name as the limit; together they used 1.6 at "
            "1, 1.6 at 2, 1.6 at 4") in text
    assert "stopped at" not in text and "cannot show linear scaling" not in text


def test_c10_names_the_consumers_each_choreographed_worker_adds():
    runs = {key: {**s, "concurrency": {"setting": 16, "per_service": 16}}
            for key, s in _ramp("choreo", (70.0, 90.0, 95.0)).items()}
    text = _text(claims.c10_scale_out(runs))
    assert "- choreo (worker processes per service, each with 16 consumers per queue)" in text


def test_c10_reads_an_older_report_with_one_scale_out_scenario_and_no_budgets():
    runs = _ramp("choreo", (70.0, 90.0), scenario_names=("steady", "scale-out"))
    text = _text(claims.c10_scale_out(runs))
    assert "90.0 with 2: x1.29 against 1" in text
    assert "the CPU budgets were not recorded (the run has no budget facts)" in text


def test_an_older_report_folder_is_written_again(tmp_path):
    # an older demo: no summary.txt, ledgers without times, orch repeated (DEMO_RUNS=3)
    old = tmp_path / "old"
    fake_runs.outage_run(old / "outage" / "choreo", "choreo", [(202, 20)] * 8, timed=False)
    for number in (1, 2, 3):
        fake_runs.outage_run(old / "outage" / "orch" / f"run-{number}", "orch",
                             [(202, 3000)] * 8, timed=False)
    assert load_cli.rewrite(old) == 0
    report = (old / "report.md").read_text()
    assert "Measured on: not recorded (the report folder has no summary.txt)" in report
    assert "ledger has no answer times" in report and "ran out" not in report
    orch = next(s for s in json.loads((old / "summary.json").read_text())
                if s["variant"] == "orch")
    assert len(orch["repeats"]) == 3


def test_c10_gives_the_cpu_per_order_of_each_step_and_the_lone_replica_s_waste_only_if_shed():
    runs = _ramp("orch", (15.0, 25.0, 50.0))
    for (name, _), s, ms, shed in zip(runs, runs.values(), (113, 64, 46), (1586, 0, 51)):
        s.update(cpu_ms_per_order=ms, shed=shed)
    text = _text(claims.c10_scale_out(runs))
    assert "429s 1586 -> 0 -> 51; CPU per order 113 -> 64 -> 46 ms (the lone replica's step " \
           "spent 2.5x the CPU per finished order of 4 replicas while it shed 1586" in text

    runs[("steady", "orch")].update(shed=0)  # no 429s at 1: the figures say nothing of waste
    text = _text(claims.c10_scale_out(runs))
    assert "CPU per order 113 -> 64 -> 46 ms" in text and "lone replica" not in text


# C8 split by cost (load/costs.py): three variants, each sentence with a run where it must
# appear and one where it must not.

def _three(scenario="slow-dependency", **per_variant):
    """Return runs of one scenario on all three variants, each a fabricated summary with 100
    orders; `per_variant` {variant: figures} overrides them."""
    latency = {"PAYMENTS_FAULT_LATENCY_MS": "200"} if scenario == "slow-dependency" else {}
    return {(scenario, v): summary(**{"env": latency, "orders": {"COMPLETED": 100}, **EQUAL,
                                      **per_variant.get(v.replace("-", "_"), {})})
            for v in ("choreo", "orch", "orch-amqp")}


def _split(runs):
    """Return C8 as the report has it: the slow-dependency verdict with its split, else the
    split alone (the steady scenario)."""
    return _text(claims.c8_slow_dependency(runs) if ("slow-dependency", "orch") in runs else
                 costs.split(runs))


COORDINATOR_CPU = {"choreo": {"cpu_ms_per_order": 50, "cpu_s": {"orders-api": 4.2, "broker": 0.8}},
                   "orch_amqp": {"cpu_ms_per_order": 90,
                                 "cpu_s": {"orchestrator-0": 2.5, "broker": 1.5, "orders-api": 5}}}


def test_c8_split_needs_the_scenario_on_all_three_variants():
    two = {k: v for k, v in _three().items() if k[1] != "orch-amqp"}
    text = _split(two)
    assert "C8 split by cost: it needs the steady or the slow-dependency scenario" in text
    assert "Coordinator" not in text and "Transport" not in text
    assert "C8 split by cost, slow-dependency:" in _split(_three())


def test_c8_split_names_the_coordinator_s_cpu_only_when_orch_amqp_spent_more_than_choreo():
    text = _split(_three(**COORDINATOR_CPU))
    assert "Coordinator (choreo against orch-amqp, both on RabbitMQ)" in text
    assert ("orch-amqp spent 40 CPU-ms more per order, of which its orchestrator used 25 (a "
            "program choreography does not have: the saga log's writes") in text
    assert ("the broker used 15 CPU-ms per order against choreo's 8, carrying 12 messages per "
            "completed order against 6") in text
    cheaper = _split(_three(choreo={"cpu_ms_per_order": 95}, orch_amqp={"cpu_ms_per_order": 90}))
    assert "orch-amqp spent no more CPU per order than choreo (90 against 95 ms)" in cheaper
    assert "of which its orchestrator" not in cheaper and "the broker used" not in cheaper
    quiet_broker = {**COORDINATOR_CPU, "choreo": {"cpu_ms_per_order": 50,
                                                  "cpu_s": {"broker": 2.0}}}
    assert "the broker used" not in _split(_three(**quiet_broker))


def test_c8_split_says_which_transport_cost_more_from_the_cpu_per_order():
    dearer = _split(_three(orch={"cpu_ms_per_order": 120}, orch_amqp={"cpu_ms_per_order": 90}))
    assert ("Transport (orch against orch-amqp, the same orchestrator and saga log): orch "
            "finished at least as many orders per second as orch-amqp (one run)") in dearer
    assert "over HTTP the saga cost 30 CPU-ms more per order (120 against 90 ms" in dearer
    assert "replace" not in dearer
    cheaper = _split(_three(orch={"cpu_ms_per_order": 70},
                            orch_amqp={"cpu_ms_per_order": 90, "cpu_s": {"broker": 2.0}}))
    assert ("over HTTP the saga cost 20 CPU-ms less per order (70 against 90 ms; orch-amqp's "
            "broker alone used 20): its messages cost more than the HTTP round trips") in cheaper


def test_c8_split_calls_a_rate_difference_only_beyond_the_spread():
    def repeats(*rates):
        return {"finished_per_s": rates[1], "repeats": [{"finished_per_s": r} for r in rates]}
    apart = _split(_three(choreo=repeats(40, 42, 44), orch_amqp=repeats(20, 21, 22)))
    assert "orch-amqp finished fewer orders per second than choreo;" in apart
    overlap = _split(_three(choreo=repeats(20, 30, 40), orch_amqp=repeats(25, 28, 35)))
    assert "orch-amqp finished fewer orders per second than choreo (within noise)" in overlap


def test_c8_split_names_waiting_only_when_a_variant_met_payments_ceiling_or_shed():
    near = _split(_three(orch_amqp={"finished_per_s": 75.0}))
    assert ("Waiting (payments 200 ms slower): orch-amqp finished 94% of the 80 payments a "
            "second its concurrency allows: there the orders waited on payments.") in near
    shed = _split(_three(orch={"shed": 12}))
    assert "orch shed 12 orders with 429 at its in-flight bound" in shed
    calm = _split(_three())
    assert "these figures do not show waiting as what set a variant's rate" in calm
    assert "waited on payments" not in calm
    steady = _split(_three("steady"))
    assert "C8 split by cost, steady:" in steady and "Waiting" not in steady


def test_c8_states_orch_amqp_s_command_consumers_and_its_queue_at_payments():
    text = _split(_three(orch_amqp={"queue_peaks": {"payments.commands": 30}}))
    assert ("16 consumers per queue in each choreographed worker, 16 request threads in each "
            "orchestrated service API, 16 command consumers in each orchestrated service over "
            "AMQP") in text
    assert "up to 30 waited ready in payments.commands" in text
    assert "payments.commands" not in _split(_three())


def test_a_report_with_three_variants_is_written_with_each_one_s_outage(tmp_path):
    folder = tmp_path / "three"
    for variant in ("choreo", "orch", "orch-amqp"):
        fake_runs.outage_run(folder / "outage" / variant, variant, [(202, 400)] * 8)
    assert load_cli.rewrite(folder) == 0
    report = (folder / "report.md").read_text()
    assert "| outage | orch-amqp |" in report and "- orch-amqp: payments down for 20 s" in report
    assert "C5 verdict" in report and "C8 split by cost: it needs the steady" in report
    assert (folder / "charts" / "outage.png").is_file()


def test_c10_takes_each_ratio_between_the_median_peaks_it_shows():
    # three runs a step: the run with the median finished/s (whose other figures the report
    # shows) is not the one with the median peak
    def step(peaks, finished):
        repeats = [summary(peak_per_s=p, finished_per_s=f) for p, f in zip(peaks, finished)]
        middle = repeats[sorted(range(3), key=lambda i: finished[i])[1]]
        return {**middle, "repeats": repeats}
    runs = {("steady", "orch"): {**step((18.5, 18.0, 20.0), (8.4, 8.0, 8.7)), "replicas": 1},
            ("scale-out-2", "orch"): {**step((25.2, 29.6, 30.4), (15.8, 15.1, 18.8)),
                                      "replicas": 2}}
    text = _text(claims.c10_scale_out(runs))
    assert "29.6 (25.2-30.4) with 2: x1.60 against 1 (linear: x2, so 80% of linear)" in text


def test_c10_says_the_machine_was_nearly_full_only_when_the_programs_used_most_of_its_cores():
    steps = [budget({"orchestrator-0": 0.97, "orders-api": 0.4}),
             budget({"orchestrator-0": 0.95, "orchestrator-1": 0.96}),
             budget({f"orchestrator-{i}": 0.93 for i in range(4)} | {"orders-api": 0.3})]
    runs = {key: {**s, "machine_cores": 4} for key, s in
            _ramp("orch", (30.0, 58.0, 100.0), steps).items()}
    text = _text(claims.c10_scale_out(runs))
    assert ("orch at 4: still limited by the orchestrator replicas themselves: orchestrator-0 "
            "used 0.93 of its 1 core; saturated too: orchestrator-1, orchestrator-2, "
            "orchestrator-3 (together the programs used 4.0 of the machine's 4 cores: the "
            "machine itself was nearly full)") in text
    assert "nearly full" not in text.split("orch at 4")[0]  # 1.4 and 1.9 of 4 cores
