"""The load sampler counts a run's CPU only: from its first sample on, not from each process's
start (a long-lived broker or a program's imports are not the run's work)."""
import os
import time

import psutil

from load.sampler import Sampler


class NoPrograms:
    """A variant with no supervised programs: the sampler watches only the extra pids."""

    @staticmethod
    def programs():
        return {}


def _burn(seconds):
    """Use about `seconds` of CPU in this process."""
    started = time.process_time()
    while time.process_time() - started < seconds:
        pass


def test_cpu_is_what_a_process_used_between_the_samples_not_since_it_started():
    me = psutil.Process(os.getpid())
    sampler = Sampler(NoPrograms(), extra_pids={"broker": os.getpid()})
    _burn(0.1)  # this process has some CPU behind it before the run starts
    before = sum(me.cpu_times()[:2])
    sampler._sample_processes(0.0)
    _burn(0.2)
    sampler._sample_processes(1.0)
    during = sum(me.cpu_times()[:2]) - before
    assert abs(sampler.cpu_seconds()["broker"] - during) < 0.05, (sampler.cpu_seconds(), during)
