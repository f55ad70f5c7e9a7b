"""A CPU budget per program: one Linux cgroup each, with a quota in cores.

The lesson: on a shared machine every program competes for the same cores, so adding a replica
adds contention, not capacity. A cgroup quota gives each program a machine of its own size
(BUDGET_CORES), as a cluster of small machines would: a program that needs more is throttled,
and that shows as "used close to its budget" and "periods throttled" in the load reports.

    <root>/<hierarchy>/orders-saga/<run id>/<who>      who: payments-worker, broker, locust ...

Two kernels' interfaces, the same three numbers (quota, CPU seconds used, periods throttled):
- cgroup v1: the `cpu` hierarchy holds the quota (cpu.cfs_quota_us / cpu.cfs_period_us) and
  the throttling (cpu.stat); `cpuacct` (a separate hierarchy, or co-mounted as `cpu,cpuacct`)
  holds the CPU used (cpuacct.usage, ns). A process joins by writing its pid to cgroup.procs
  of each hierarchy.
- cgroup v2: one tree; cpu.max ("<quota> <period>"), cpu.stat (usage_usec, nr_periods,
  nr_throttled); the parent must hand the controller down (+cpu in cgroup.subtree_control).

Where neither is writable (no root, a container with read-only cgroups), `find()` says why.
"""
import errno
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = "/sys/fs/cgroup"
PARENT = "orders-saga"
PERIOD_US = 100_000  # the kernel's default CFS period: 100 ms
MODES = ("off", "on", "auto")
OFF_HINT = "run without budgets: BUDGET=off (or --budget off)"


class Unavailable(Exception):
    """No writable cgroup CPU controller; the message says why."""


@dataclass(frozen=True)
class Usage:
    """A group's counters so far: CPU seconds, CFS periods, periods throttled."""
    cpu_s: float
    periods: int
    throttled: int


def _read_stat(path):
    """Return cpu.stat as {name: int}."""
    pairs = (line.split() for line in Path(path).read_text().splitlines() if line.strip())
    return {name: int(value) for name, value in pairs}


class CgroupV1:
    """The cpu and cpuacct hierarchies of cgroup v1 (one folder when co-mounted)."""
    mode = "cgroup-v1"

    def __init__(self, cpu, cpuacct):
        self.cpu, self.cpuacct = Path(cpu), Path(cpuacct)

    def hierarchies(self):
        same = os.path.realpath(self.cpu) == os.path.realpath(self.cpuacct)
        return [self.cpu] if same else [self.cpu, self.cpuacct]

    def prepare(self, group):
        for top in self.hierarchies():
            (top / group).mkdir(parents=True, exist_ok=True)

    def set_quota(self, group, cores):
        (self.cpu / group / "cpu.cfs_period_us").write_text(str(PERIOD_US))
        (self.cpu / group / "cpu.cfs_quota_us").write_text(str(round(cores * PERIOD_US)))

    def quota(self, group):
        quota = int((self.cpu / group / "cpu.cfs_quota_us").read_text())
        period = int((self.cpu / group / "cpu.cfs_period_us").read_text())
        return None if quota < 0 else quota / period

    def usage(self, group):
        stat = _read_stat(self.cpu / group / "cpu.stat")
        used_ns = int((self.cpuacct / group / "cpuacct.usage").read_text())
        return Usage(used_ns / 1e9, stat.get("nr_periods", 0), stat.get("nr_throttled", 0))


class CgroupV2:
    """The unified hierarchy of cgroup v2, with the cpu controller."""
    mode = "cgroup-v2"

    def __init__(self, root):
        self.root = Path(root)

    def hierarchies(self):
        return [self.root]

    def prepare(self, group):
        """Create the group, handing the cpu controller down from the root at each level."""
        here = self.root
        for part in Path(group).parts:
            control = here / "cgroup.subtree_control"
            if "cpu" not in _words(control):
                control.write_text("+cpu")
            here = here / part
            here.mkdir(exist_ok=True)

    def set_quota(self, group, cores):
        (self.root / group / "cpu.max").write_text(f"{round(cores * PERIOD_US)} {PERIOD_US}")

    def quota(self, group):
        quota, period = (self.root / group / "cpu.max").read_text().split()
        return None if quota == "max" else int(quota) / int(period)

    def usage(self, group):
        stat = _read_stat(self.root / group / "cpu.stat")
        return Usage(stat["usage_usec"] / 1e6, stat.get("nr_periods", 0),
                     stat.get("nr_throttled", 0))


def find(root=ROOT):
    """Return the writable CPU controller under `root`; raise Unavailable saying why not."""
    root = Path(root)
    if "cpu" in _words(root / "cgroup.controllers"):
        return _writable(CgroupV2(root))
    cpu = _v1_folder(root, "cpu.cfs_quota_us")
    cpuacct = _v1_folder(root, "cpuacct.usage")
    if cpu and cpuacct:
        return _writable(CgroupV1(cpu, cpuacct))
    raise Unavailable(f"no cgroup CPU controller under {root} (neither v1's cpu and cpuacct "
                      "nor v2's cpu; `ip netns exec` mounts a /sys without them)")


def _words(path):
    try:
        return path.read_text().split()
    except OSError:
        return []


def _v1_folder(root, marker):
    """Return the v1 hierarchy under root that holds `marker` (cpu, cpuacct or cpu,cpuacct)."""
    for name in ("cpu", "cpuacct", "cpu,cpuacct", "cpuacct,cpu"):
        if (root / name / marker).exists():
            return root / name
    return None


def _writable(controller):
    for top in controller.hierarchies():
        if not os.access(top, os.W_OK):
            raise Unavailable(f"{top} is not writable (budgets need root, and cgroups a "
                              "container has not mounted read-only)")
    return controller


class Budgets:
    """One run's groups under <hierarchy>/orders-saga/<run id>/, created and removed together."""

    def __init__(self, controller, run_id):
        self.controller, self.run = controller, f"{PARENT}/{run_id}"
        self.cores = {}  # who -> cores

    @property
    def mode(self):
        return self.controller.mode

    def create(self, who, cores):
        """Create who's group with a quota of `cores`; return the folders a process joins."""
        group = f"{self.run}/{who}"
        self.controller.prepare(group)
        self.controller.set_quota(group, cores)
        self.cores[who] = cores
        return self.folders(who)

    def folders(self, who):
        """Return who's group folder in every hierarchy (what runner.cgexec writes to)."""
        return [str(top / self.run / who) for top in self.controller.hierarchies()]

    def join_command(self, who):
        """Return the command prefix that runs a program inside who's group: runner/cgexec.py
        by its path, so it works from any folder (RabbitMQ and PostgreSQL start from /)."""
        return [sys.executable, str(Path(__file__).with_name("cgexec.py")), *self.folders(who),
                "--"]

    def usage(self):
        """Return {who: Usage} of every group of the run."""
        return {who: self.controller.usage(f"{self.run}/{who}") for who in self.cores}

    def facts(self):
        """Return what another process needs to read this run's groups (budget.json)."""
        return {"mode": self.mode, "period_ms": PERIOD_US // 1000, "cores": dict(self.cores),
                "groups": {who: f"{self.run}/{who}" for who in self.cores}}

    def remove(self):
        """Remove the run's groups (call once their processes are gone). A process that
        outlives its program (epmd outlives its broker) moves to the top group first."""
        # Trade-off 75: a survivor is moved out, unbudgeted, rather than left holding the
        # group: every run leaves the cgroup tree as it found it, and a second run never meets
        # a stale group of the first. The cost: a leftover process (epmd, a program that
        # ignored SIGTERM) silently loses its budget instead of failing the stop loudly.
        for top in self.controller.hierarchies():
            run = top / self.run
            for group in sorted(run.glob("*/"), reverse=True) if run.is_dir() else []:
                _empty_and_remove(group, top)
            _rmdir(run)
            _rmdir(top / PARENT)  # fails quietly while another run uses it


def _empty_and_remove(group, top):
    for _ in range(20):
        left = _words(group / "cgroup.procs")
        for pid in left:
            try:
                (top / "cgroup.procs").write_text(pid)
            except OSError:  # gone meanwhile
                pass
        if _rmdir(group):
            return
        time.sleep(0.1)


def _rmdir(folder):
    """Remove a group folder (a cgroup's files go with it); return True when it is gone."""
    try:
        folder.rmdir()
    except FileNotFoundError:
        return True
    except OSError as error:
        if error.errno != errno.ENOTEMPTY:  # EBUSY: a process or a child group is still in it
            return False
        # A cgroup's files vanish with rmdir; a folder that is "not empty" is a plain one
        # (the fake trees of the unit tests).
        shutil.rmtree(folder, ignore_errors=True)
    return not folder.exists()


def for_run(mode, run_id, root=ROOT):
    """Return (Budgets or None, reason): budgets for `mode` (off | on | auto).

    `on` where no controller is writable raises SystemExit with a one-line reason;
    `auto` then runs without and returns the reason, which the reports record."""
    if mode not in MODES:
        raise SystemExit(f"BUDGET must be one of {', '.join(MODES)}, not {mode!r}")
    if mode == "off":
        return None, "BUDGET=off"
    try:
        return Budgets(find(root), run_id), ""
    except Unavailable as why:
        if mode == "on":
            raise SystemExit(f"budgets: {why}; {OFF_HINT}") from None
        return None, str(why)
