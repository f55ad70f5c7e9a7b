"""Run the programs of a variant under supervisord and control them over its XML-RPC socket.

Plumbing: the runner writes a supervisord config, starts supervisord in the foreground as a
child, and stops, starts or lists programs through supervisor's own RPC interface.
"""
import os
import signal
import subprocess
import sys
import time
import xmlrpc.client
from pathlib import Path

from supervisor.xmlrpc import SupervisorTransport

# How long supervisord waits after SIGTERM before it kills a program: gunicorn's graceful
# timeout (2 s, runner/processes.py) may be spent in full on a client's idle keep-alive
# connection, then the interpreter exits; 3 s left too thin a margin for that on a busy
# machine. A program that stops at once is not held by it.
STOP_WAIT_S = 5


def write_config(folder, programs, environment, join=None):
    """Write supervisord.conf for the programs into `folder`; return its path.

    `join(program)`, when given, returns the command prefix that puts each process of the
    program in its own CPU budget (runner/budgets.py); it may name %(process_num)d."""
    folder = Path(folder)
    (folder / "logs").mkdir(parents=True, exist_ok=True)
    lines = ["[supervisord]", f"logfile={folder / 'supervisord.log'}",
             f"pidfile={folder / 'supervisord.pid'}", "nodaemon=true", "loglevel=warn",
             "user=root" if os.geteuid() == 0 else "", "",
             "[unix_http_server]", f"file={folder / 'supervisor.sock'}", "",
             "[rpcinterface:supervisor]",
             "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface", ""]
    for program in programs:
        env = {**environment, **program.environment}
        lines += [f"[program:{program.name}]",
                  "command=" + " ".join([*(join(program) if join else []),
                                         *(_quote(part) for part in program.command)]),
                  f"numprocs={program.numprocs}",
                  "process_name=%(program_name)s" + ("-%(process_num)d" if program.numprocs > 1
                                                     else ""),
                  "environment=" + ",".join(f'{k}="{_escape(v)}"' for k, v in env.items()),
                  "autostart=true", "autorestart=unexpected", "startsecs=1",
                  f"stopwaitsecs={STOP_WAIT_S}", "stopasgroup=true", "killasgroup=true",
                  "redirect_stderr=true",
                  f"stdout_logfile={folder / 'logs' / '%(program_name)s-%(process_num)d.log'}",
                  "stdout_logfile_maxbytes=50MB", "stdout_logfile_backups=1", ""]
    path = folder / "supervisord.conf"
    path.write_text("\n".join(lines))
    return path


def _quote(part):
    part = part.replace("%", "%%")  # supervisord expands %(name)s in commands
    return f"'{part}'" if any(c in part for c in " ()\"") else part


def _escape(value):
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%") \
        .replace("%%(process_num)d", "%(process_num)d")


class Supervisor:
    """A supervisord we started for one variant's programs."""

    def __init__(self, folder, programs, join=None):
        self.folder, self.programs, self.join = Path(folder), programs, join
        self.process = None

    def start(self):
        """Write the config, start supervisord in the foreground (our child), wait for its RPC."""
        config_path = write_config(self.folder, self.programs, {}, self.join)
        self.process = subprocess.Popen([sys.executable, "-m", "supervisor.supervisord", "-c",
                                         str(config_path)], start_new_session=True)
        wait_for_rpc(self.folder, self.process)

    def alive(self):
        """Return True while supervisord runs."""
        return self.process is not None and self.process.poll() is None

    def stop(self):
        """Stop every program at once, then supervisord; kill whatever is left by its pid."""
        if not self.alive():
            return
        api = rpc(self.folder).supervisor
        pids = [info["pid"] for info in api.getAllProcessInfo() if info["pid"]]
        api.stopAllProcesses(False)  # SIGTERM to every program now, not one group at a time
        deadline = time.monotonic() + STOP_WAIT_S + 1
        while time.monotonic() < deadline and any(_running(pid) for pid in pids):
            time.sleep(0.1)
        self.process.terminate()
        try:
            self.process.wait(timeout=3)
        except subprocess.TimeoutExpired:
            self.process.kill()
        for pid in pids:  # safety net: never leave a program behind holding its port
            if _running(pid):
                os.killpg(pid, signal.SIGKILL)


def _running(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


def rpc(folder):
    """Return an XML-RPC proxy to the supervisord whose socket is in `folder`."""
    socket = f"unix://{Path(folder) / 'supervisor.sock'}"
    return xmlrpc.client.ServerProxy("http://127.0.0.1",
                                     transport=SupervisorTransport(None, None, socket))


def wait_for_rpc(folder, process, timeout=20):
    """Wait until supervisord answers on its socket."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return rpc(folder).supervisor.getState()
        except OSError:
            if process.poll() is not None:
                raise RuntimeError("supervisord exited; see the message above") from None
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
