"""Start and stop a PostgreSQL cluster from the local install, with its data under var/.

Plumbing, the twin of runner/broker.py (`--db postgres`). One cluster holds each service's
own database, named `<variant>_<service>` (choreo_orders, ..., orch_orchestrator), the same
names deploy/postgres/init.sh creates in docker-compose.yml. PostgreSQL refuses to run as
root, so as root initdb and pg_ctl run as the `postgres` user, which owns the data folder.
The cluster listens on 127.0.0.1 only and trusts local connections: it is for development.
"""
import glob
import os
import shutil
import socket
import subprocess
from pathlib import Path

from shared.runtime import config
from runner.folders import reachable

DEFAULT_PORT = 5433  # not 5432, so a system PostgreSQL can run beside it
USER = "postgres"
INSTALL_HINT = ("PostgreSQL is not installed. On Debian or Ubuntu run, as root: "
                "apt-get update && apt-get install -y postgresql. Elsewhere install PostgreSQL "
                "13 or newer, or start one yourself and set <SERVICE>_DATABASE_URL for each service.")


def port():
    """Return the port of the runner's PostgreSQL (POSTGRES_PORT, default 5433)."""
    return int(os.environ.get("POSTGRES_PORT") or DEFAULT_PORT)


def services(variant):
    """Return the services of a variant that own a database."""
    return config.SERVICES + (("orchestrator",) if variant == "orch" else ())


def database_urls(variant, on_port):
    """Return <SERVICE>_DATABASE_URL for every service of the variant, one database each."""
    return {f"{s.upper()}_DATABASE_URL":
            f"postgresql+psycopg://{USER}@127.0.0.1:{on_port}/{variant}_{s}"
            for s in services(variant)}


def bin_dir():
    """Return the folder of initdb and pg_ctl: Debian's newest version, else the PATH."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parts[4]) if Path(p).parts[4].isdigit() else 0)
    if found:
        return Path(found[-1]).parent
    if shutil.which("initdb") and shutil.which("pg_ctl"):
        return Path(shutil.which("initdb")).parent
    raise SystemExit(INSTALL_HINT)


class Cluster:
    """One PostgreSQL cluster on 127.0.0.1:port, its files under `base` (data/, server.log)."""

    def __init__(self, on_port, base):
        self.port, self.base = on_port, reachable(base)  # the postgres user must reach it
        self.data = self.base / "data"
        self.started = False
        self.join = []  # a command prefix that puts the postmaster in its CPU budget

    def answers(self):
        """Return True if something accepts connections on the cluster's port."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def _run(self, *command, timeout=120, join=()):
        """Run initdb or pg_ctl, as the postgres user when we are root; `join` first puts
        the command in a CPU budget (the postmaster pg_ctl starts inherits the group)."""
        prefix = ["runuser", "-u", USER, "--"] if os.geteuid() == 0 else []
        done = subprocess.run([*join, *prefix, *(str(part) for part in command)], cwd="/",
                              capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"{Path(str(command[0])).name} failed:\n{done.stdout}{done.stderr}")

    def start(self):
        """Create the cluster if it is new, start it, and wait until it accepts connections."""
        tools = bin_dir()
        self.base.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            subprocess.run(["chown", "-R", f"{USER}:{USER}", str(self.base)], check=True)
        if not (self.data / "PG_VERSION").exists():
            self._run(tools / "initdb", "-D", self.data, "-U", USER, "--auth=trust",
                      "-E", "UTF8", "--no-sync")
        # max_connections: every gunicorn thread and worker may hold a pooled connection.
        options = (f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 "
                   "-c max_connections=300")
        self._run(tools / "pg_ctl", "-D", self.data, "-l", self.base / "server.log",
                  "-o", options, "-w", "-t", "60", "start", join=self.join)
        self.started = True

    def stop(self):
        """Stop the cluster if we started it (fast: open connections are closed)."""
        if self.started:
            self._run(bin_dir() / "pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop",
                      timeout=30)
            self.started = False

    def create_databases(self, names):
        """Create each database that does not exist yet."""
        import psycopg  # plumbing: only the runner's PostgreSQL mode needs the driver here
        with psycopg.connect(host="127.0.0.1", port=self.port, user=USER, dbname="postgres",
                             autocommit=True, connect_timeout=10) as connection:
            present = {row[0] for row in connection.execute("SELECT datname FROM pg_database")}
            for name in names:
                if name not in present:
                    connection.execute(f'CREATE DATABASE "{name}"')


def prepare(variant, join=None):
    """Start (or reuse) the cluster, create the variant's databases, and point the services
    at them; return the Cluster when we started it (stop it later), else None. `join()`,
    called only when we start it, returns the prefix that puts it in its CPU budget."""
    cluster = Cluster(port(), config.var_dir() / "postgres")
    if cluster.answers():
        print(f"runner: using the PostgreSQL already answering at 127.0.0.1:{cluster.port}")
    else:
        print(f"runner: starting PostgreSQL on 127.0.0.1:{cluster.port} ...", flush=True)
        cluster.join = join() if join else []
        cluster.start()
    cluster.create_databases([f"{variant}_{s}" for s in services(variant)])
    for name, url in database_urls(variant, cluster.port).items():
        os.environ.setdefault(name, url)  # a URL set by hand wins
    return cluster if cluster.started else None
