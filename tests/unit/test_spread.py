"""Repeated runs: a difference is a finding only when it is larger than the spread."""
from load import claims, spread


def test_a_difference_larger_than_the_spread_is_higher_or_lower():
    assert spread.compare([10, 11, 12], [5, 6, 7]) == spread.HIGHER
    assert spread.compare([5, 6, 7], [10, 11, 12]) == spread.LOWER


def test_overlapping_runs_are_within_noise_and_a_single_run_is_one_run():
    assert spread.compare([5, 10, 12], [7, 8, 9]) == spread.WITHIN_NOISE  # medians differ
    assert spread.compare([20], [5, 6, 7]) == spread.ONE_RUN


def test_the_median_run_is_chosen_and_shown_with_its_spread():
    runs = [{"finished_per_s": v} for v in (14.0, 9.0, 12.0)]
    assert runs[spread.median_run(runs)]["finished_per_s"] == 12.0
    assert spread.text({**runs[2], "repeats": runs}, "finished_per_s") == "12.0 (9.0-14.0)"
    assert spread.text(runs[0], "finished_per_s") == "14.0"


def test_the_c8_verdict_says_supports_only_beyond_the_spread():
    assert claims._c8_verdict(spread.LOWER, True).startswith("supports")
    assert claims._c8_verdict(spread.HIGHER, False).startswith("contradicts")
    assert claims._c8_verdict(spread.WITHIN_NOISE, True).startswith("is within noise")
    assert claims._c8_verdict(spread.ONE_RUN, True).startswith("is one run")
