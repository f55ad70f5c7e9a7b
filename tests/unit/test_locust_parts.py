"""The parts of the Locust user that need no Locust (importing Locust would monkey-patch the test
process with gevent): the Sagas tab's counts across workers (load/sagas.py), the pre-flight
check (load/preflight.py), the variant behind --host (load/target.py) and the shapes' timing
(load/scenarios.py)."""
import socket

from load import preflight, sagas, scenarios, target

COMPLETED = {"order_id": "a", "status": "COMPLETED", "reason": None}
DECLINED = {"order_id": "b", "status": "CANCELLED", "reason": "payment_declined"}


def _tally(finals):
    """A tally that placed and saw final every (order, expected, ms) of `finals`."""
    tally = sagas.Tally()
    for order, expected, ms in finals:
        tally.count(sagas.SENT)
        tally.count(sagas.PLACED)
        tally.final(order, expected, ms)
    return tally


def test_the_masters_tally_adds_the_workers_counts_and_merges_their_histograms():
    fast = _tally([(COMPLETED, "COMPLETED", 10)] * 100)          # one worker: 100 fast orders
    slow = _tally([(DECLINED, "CANCELLED", 1000)] * 10)          # another: 10 slow ones
    master = sagas.Tally()
    master.merge(fast.take())
    master.merge(slow.take())
    rows = {row["what"]: row for row in master.rows()}
    assert rows[sagas.PLACED]["count"] == 110 and rows[sagas.COMPLETED]["count"] == 100
    assert rows["cancelled/payment_declined"]["count"] == 10 and rows["in flight"]["count"] == 0
    # the merged histogram's p95 is a slow order's time: 105 of 110 orders took 1000 ms at most,
    # while the mean of the two workers' p95s (10 and 1000) would say 505
    assert rows[sagas.FINAL]["p50"] == 10 and rows[sagas.FINAL]["p95"] == 1000
    assert fast.take() == {"counts": {}, "times": {}}, "a worker sends each order once"


def test_an_order_placed_and_not_final_is_in_flight_until_seen_or_given_up():
    tally = _tally([(COMPLETED, "COMPLETED", 50)])
    tally.count(sagas.PLACED)
    tally.count(sagas.PLACED)
    assert tally.in_flight() == 2
    tally.count(sagas.STOPPED)
    assert tally.in_flight() == 1


def test_every_post_sent_is_in_one_row_so_the_rows_add_up():
    # a POST cut off by STOP was sent and never answered: it has a row of its own, so sent =
    # placed + shed + failed + not answered
    tally = _tally([(COMPLETED, "COMPLETED", 50)])
    for row in (sagas.SENT, sagas.SENT, sagas.SHED, sagas.SENT, sagas.FAILED, sagas.SENT):
        tally.count(row)
    rows = {row["what"]: row["count"] for row in tally.rows()}
    assert rows[sagas.SENT] == 5
    assert (rows[sagas.PLACED], rows[sagas.SHED], rows[sagas.FAILED], rows[sagas.UNANSWERED]) \
        == (1, 1, 1, 2)


def test_times_are_bucketed_as_locust_rounds_them():
    assert [sagas.rounded(ms) for ms in (7.4, 99, 123, 1234, 15678)] == [7, 99, 120, 1200, 16000]


def test_a_run_fails_for_ci_when_an_order_ends_wrong_stays_pending_or_the_audit_fails():
    clean = _tally([(COMPLETED, "COMPLETED", 5), (DECLINED, "CANCELLED", 5)])
    assert sagas.failing(clean.counts, True) == [] and sagas.failing(clean.counts, None) == []
    wrong = _tally([(DECLINED, "COMPLETED", 5)])   # asked to complete, ended cancelled
    assert sagas.failing(wrong.counts, True) == [f"1 {sagas.WRONG}"]
    clean.count(sagas.STOPPED)
    assert sagas.failing(clean.counts, None) == [f"1 {sagas.STOPPED}"]
    assert sagas.failing(_tally([]).counts, False) == ["the audit failed"]


def test_the_tabs_csv_holds_every_row():
    text = sagas.as_csv(_tally([(COMPLETED, "COMPLETED", 40)]).rows() +
                        [{"what": "audit", "note": "passed"}])
    lines = text.splitlines()
    assert lines[0] == "what,count,p50,p95,p99,note"
    assert "completed,1,40,40,40," in lines and "audit,,,,,passed" in lines


def _closed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens once the socket is closed


def test_a_host_where_nothing_listens_is_named_with_the_command_that_starts_the_variant():
    host = f"http://127.0.0.1:{_closed_port()}"
    line = preflight.problem(host, "orch")
    assert line == (f"{host}/health does not answer (connection refused); "
                    "start the variant: make up-orch")
    assert preflight.problem("", "auto").startswith("no host")


def test_the_start_command_follows_the_port_or_the_variant_named():
    assert preflight.start_command("http://127.0.0.1:8001") == "make up-choreo"
    assert preflight.start_command("http://127.0.0.1:8002") == "make up-orch"
    assert preflight.start_command("http://127.0.0.1:18002", "orch") == "make up-orch"
    assert preflight.start_command("http://10.0.0.5:9000") == "make up-choreo or make up-orch"
    assert preflight.describe(ConnectionRefusedError(111, "Connection refused")) == \
        "connection refused"


def test_a_user_facing_a_dead_host_backs_off_up_to_a_bound_and_starts_over_after_an_answer():
    backoff = preflight.Backoff()
    pauses = [backoff.failed() for _ in range(7)]
    assert pauses == [0.25, 0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    backoff.succeeded()
    assert backoff.failed() == 0.25


def test_the_services_of_the_variant_behind_the_host_are_at_the_orders_apis_offset():
    style, urls = target.services("http://127.0.0.1:8001")
    assert style == "choreo" and urls["payments"] == "http://127.0.0.1:8012"
    style, urls = target.services("http://127.0.0.1:18002", "orch")
    assert style == "orch" and urls["orchestrator"] == "http://127.0.0.1:18020"
    assert target.services("http://127.0.0.1:9999") is None  # which variant? only --variant says


def test_the_shapes_follow_the_demos_scenarios_over_time():
    steady = next(s for s in scenarios.SCENARIOS if s.name == "steady")
    users = [steady.users_at(t) for t in (0, 16, 32, 39, 40)]
    assert users[0] == 1 and users[1] < users[2] == steady.users == users[3]
    assert users[4] is None                        # over: the shape stops the test
    outage = next(s for s in scenarios.SCENARIOS if s.name == "outage")
    assert [outage.users_at(t) for t in (0, 20, 40)] == [16, 16, None] and outage.pacing == 4
    assert [outage.payments_down(t) for t in (9.9, 10, 29.9, 30)] == [False, True, True, False]
    short = scenarios.scaled(outage, 0.25)          # LOAD_SHAPE_SCALE=0.25
    assert short.seconds == 10 and short.payments_down(3) and not short.payments_down(8)
