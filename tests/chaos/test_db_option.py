"""`python -m chaos --db postgres` reaches the runner and the report; no variant is started."""
import chaos.__main__ as cli
import chaos.system as system_module
from chaos.measure import Row
from runner import postgres


def test_the_db_flag_reaches_the_system_and_each_row(monkeypatch, tmp_path):
    made = []

    class FakeSystem:
        def __init__(self, variant, env=None, db="sqlite"):
            self.variant, self.db = variant, db
            made.append(self)

        def start(self):
            pass

        def stop(self):
            pass

    monkeypatch.setattr(cli, "System", FakeSystem)
    monkeypatch.setattr(cli, "run_scenario", lambda system, name, **_: Row(
        name, system.variant, system.db, sent=1, accepted=1, completed=1, passed=True))
    monkeypatch.setattr(cli.report, "write", lambda rows, text: tmp_path / "results.md")
    assert cli.main(["--db", "postgres", "--scenario", "kill-payments", "--variant", "orch"]) == 0
    assert [s.db for s in made] == ["postgres"]
    assert "| kill-payments | orch | postgres | 1 |" in cli.report.table(
        [Row("kill-payments", "orch", "postgres", sent=1)])


def test_a_postgres_system_starts_the_runner_with_db_postgres(monkeypatch, tmp_path):
    started = []

    class FakeRunner:
        def __init__(self, argv, stdout, env, **_):
            started.append((argv, env))
            stdout.write("runner: orch is up\n")
            stdout.flush()

        def poll(self):
            return None

    monkeypatch.setattr(system_module, "ROOT", tmp_path)
    monkeypatch.setattr(system_module.subprocess, "Popen", FakeRunner)
    monkeypatch.setattr(postgres.Cluster, "answers", lambda self: False)
    system_module.System("orch", name="unit", offset=100, db="postgres").start()
    (argv, env), = started
    assert argv[argv.index("--db") + 1] == "postgres"
    assert env["POSTGRES_PORT"] == str(postgres.DEFAULT_PORT + 100)  # moved, as every port
