"""A Spark standalone cluster (one master, one worker) on this machine, from pyspark's own jars.

It exists so that the cluster code path - a ``spark://`` master, executors in their own JVMs
launched by a worker, code shipped to them, driver and executors talking over TCP - can be
exercised without a real cluster: by the integration tests, and by a user who wants to try
``--spark-master spark://...`` before submitting to the real thing. Everything binds to
127.0.0.1 and nothing is downloaded; the master and worker are child processes of this one,
in their own process groups, and :meth:`StandaloneCluster.stop` ends them (and the executors
the worker started) even after a failed start.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from binance_bot.distributed.session import LOOPBACK, log4j2_file
from binance_bot.errors import ConfigError


def spark_home() -> Path:
    """The Spark distribution bundled with pyspark (``bin/spark-class`` and ``jars/``)."""
    env = os.environ.get("SPARK_HOME")
    if env and (Path(env) / "bin" / "spark-class").is_file():
        return Path(env)
    try:
        import pyspark
    except ImportError as exc:
        raise ConfigError("Spark is not installed: pip install 'binance-bot[spark]'") from exc
    home = Path(pyspark.__file__).resolve().parent
    if not (home / "bin" / "spark-class").is_file():
        raise ConfigError(f"{home}: pyspark has no bin/spark-class; set SPARK_HOME to a Spark distribution")
    return home


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class ClusterPorts:
    master: int
    master_ui: int
    worker: int
    worker_ui: int


class StandaloneCluster:
    """``with StandaloneCluster(cores=2) as cluster: SparkProcessor(master=cluster.master_url)``.

    ``start`` returns once the master reports the worker ALIVE with all its cores, so the first
    job does not wait for executors that are still registering.
    """

    def __init__(
        self,
        *,
        cores: int = 2,
        memory: str = "2g",
        host: str = LOOPBACK,
        work_dir: Path | None = None,
        start_timeout: float = 120.0,
    ) -> None:
        if cores < 1:
            raise ConfigError(f"a worker needs at least 1 core, got {cores}")
        self.cores = cores
        self.memory = memory
        self.host = host
        self.start_timeout = start_timeout
        self._own_dir = work_dir is None
        self.work_dir = Path(work_dir or tempfile.mkdtemp(prefix="binance-bot-spark-cluster-"))
        self.ports: ClusterPorts | None = None
        self._procs: dict[str, subprocess.Popen[bytes]] = {}

    @property
    def master_url(self) -> str:
        if self.ports is None:
            raise RuntimeError("the cluster is not started")
        return f"spark://{self.host}:{self.ports.master}"

    @property
    def master_ui_url(self) -> str:
        if self.ports is None:
            raise RuntimeError("the cluster is not started")
        return f"http://{self.host}:{self.ports.master_ui}"

    def pids(self) -> dict[str, int]:
        """Process ids of the master and worker JVMs (each leads its own process group)."""
        return {name: p.pid for name, p in self._procs.items()}

    # ------------------------------------------------------------------ lifecycle
    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["SPARK_HOME"] = str(spark_home())
        env["SPARK_LOCAL_IP"] = self.host
        env["SPARK_LOG_DIR"] = str(self.work_dir / "logs")
        env["SPARK_DAEMON_JAVA_OPTS"] = f"-Dlog4j2.configurationFile=file:{log4j2_file()}"
        return env

    def _launch(self, name: str, args: list[str]) -> None:
        log = (self.work_dir / f"{name}.log").open("wb")
        try:
            self._procs[name] = subprocess.Popen(
                [str(spark_home() / "bin" / "spark-class"), *args],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self._env(),
                cwd=self.work_dir,
                start_new_session=True,
            )
        finally:
            log.close()

    def start(self) -> StandaloneCluster:
        if self._procs:
            return self
        if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
            raise ConfigError("Spark needs Java 17+: java is not on the PATH and JAVA_HOME is unset")
        (self.work_dir / "worker").mkdir(parents=True, exist_ok=True)
        self.ports = ClusterPorts(
            free_port(self.host), free_port(self.host), free_port(self.host), free_port(self.host)
        )
        try:
            self._launch(
                "master",
                [
                    "org.apache.spark.deploy.master.Master",
                    "--host", self.host,
                    "--port", str(self.ports.master),
                    "--webui-port", str(self.ports.master_ui),
                ],
            )  # fmt: skip
            self._launch(
                "worker",
                [
                    "org.apache.spark.deploy.worker.Worker",
                    "--host", self.host,
                    "--port", str(self.ports.worker),
                    "--webui-port", str(self.ports.worker_ui),
                    "--cores", str(self.cores),
                    "--memory", self.memory,
                    "--work-dir", str(self.work_dir / "worker"),
                    self.master_url,
                ],
            )  # fmt: skip
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def state(self) -> dict[str, object]:
        """The master's own view (its ``/json`` page): workers, cores, running applications."""
        with urllib.request.urlopen(f"{self.master_ui_url}/json/", timeout=5) as resp:
            data: dict[str, object] = json.loads(resp.read().decode())
        return data

    def alive_cores(self) -> int:
        workers = self.state().get("workers", [])
        assert isinstance(workers, list)
        return sum(int(w.get("cores", 0)) for w in workers if w.get("state") == "ALIVE")

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            for name, proc in self._procs.items():
                if proc.poll() is not None:
                    raise ConfigError(
                        f"the Spark {name} exited with code {proc.returncode} while starting:\n{self.log_tail(name)}"
                    )
            with contextlib.suppress(OSError, urllib.error.URLError, ValueError):
                if self.alive_cores() >= self.cores:
                    return
            time.sleep(0.25)
        raise ConfigError(
            f"the Spark cluster was not ready within {self.start_timeout:.0f} s:\n"
            f"{self.log_tail('master')}\n{self.log_tail('worker')}"
        )

    def log_tail(self, name: str, lines: int = 30) -> str:
        path = self.work_dir / f"{name}.log"
        if not path.is_file():
            return f"({name}: no log)"
        text = path.read_text(errors="replace").splitlines()[-lines:]
        return "\n".join(f"[{name}] {line}" for line in text)

    def stop(self, timeout: float = 15.0) -> None:
        """End the worker (whose shutdown kills its executors) and then the master: SIGTERM to
        each process group, SIGKILL to whatever is left after ``timeout``. Safe to call twice."""
        for name in ("worker", "master"):
            proc = self._procs.get(name)
            if proc is not None and proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for name in ("worker", "master"):
            proc = self._procs.get(name)
            if proc is None:
                continue
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
            # executors the worker launched share its process group; make sure none outlive it
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        self._procs.clear()
        if self._own_dir:
            shutil.rmtree(self.work_dir, ignore_errors=True)

    def __enter__(self) -> StandaloneCluster:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


__all__ = ["ClusterPorts", "StandaloneCluster", "free_port", "spark_home"]
