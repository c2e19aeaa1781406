"""The free-market counterfactual of ``reesim run``, simulated beside the run on a second core.

``reesim run`` measures the trading company's effect (claims.csv) against the same scenario
without it, cut at 2012: a second simulation, a quarter of the default run's months. Started
as the command line on a system with ``fork``, :func:`start` forks before the run: the child
simulates the counterfactual while the parent simulates the run, and sends back only the
figures :func:`~reesim.report.claims.regime_figures` reads (and any warnings it logged, which
the parent logs in its place). The numbers are the same as in one process: the same scenario,
members and seed give a bit-identical dataset, and the figures are passed as Python floats
(pickled, exact).

Anything unusual falls back to simulating in the parent, where the run used to do it: no fork
(a library call, the tests' in-process runner, Windows), a child that fails or dies (its error
is then raised by the parent's own simulation, as before). The parent kills and reaps its child
on every exit, so an interrupted run leaves no process behind; the child writes no file.
"""

from __future__ import annotations

import logging
import os
import pickle
import signal
from typing import Any

_enabled = False


def enable_fork() -> None:
    """Allow :func:`start` to fork (the console script's ``main`` calls this)."""
    global _enabled
    _enabled = hasattr(os, "fork")


class Counterfactual:
    """The counterfactual of one run: figures from a forked child, or simulated on demand."""

    def __init__(self, scenario: Any, members: int, seed: int | None) -> None:
        self.scenario, self.members, self.seed = scenario, members, seed
        self.pid: int | None = None
        self.read_fd: int | None = None

    def fork(self) -> None:
        """Start the child (see the module docstring)."""
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:                                     # the child: never returns
            _child(self, read_fd, write_fd)
        os.close(write_fd)
        self.pid, self.read_fd = pid, read_fd

    def figures(self) -> dict[str, float]:
        """The counterfactual's regime figures (from the child if it delivered them)."""
        from reesim.report.claims import regime_figures

        reply = self._reply()
        if reply is not None:
            figures, records = reply
            for name, level, msg, args in records:
                logging.getLogger(name).log(level, msg, *args)
            return figures
        from reesim.api import simulate

        free = simulate(self.scenario, members=self.members, seed=self.seed)
        return regime_figures(free.dataset)

    def _reply(self) -> tuple[dict[str, float], list] | None:
        if self.read_fd is None:
            return None
        chunks = []
        try:
            with os.fdopen(self.read_fd, "rb") as pipe:
                self.read_fd = None
                chunks.append(pipe.read())
        finally:
            self.stop()
        try:
            return pickle.loads(b"".join(chunks)) if chunks and chunks[0] else None
        except Exception:                               # a child killed mid-message
            return None

    def stop(self) -> None:
        """Kill the child if it still runs and reap it (idempotent)."""
        if self.read_fd is not None:
            os.close(self.read_fd)
            self.read_fd = None
        if self.pid is None:
            return
        pid, self.pid = self.pid, None
        try:
            if os.waitpid(pid, os.WNOHANG) == (0, 0):
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
        except (ChildProcessError, ProcessLookupError):
            pass


def start(scenario: Any, members: int, seed: int | None) -> Counterfactual | None:
    """The run's counterfactual (None if the scenario has none), forked when allowed."""
    from reesim.report.claims import counterfactual

    other = counterfactual(scenario)
    if other is None:
        return None
    job = Counterfactual(other, members, seed)
    if _enabled:
        try:
            job.fork()
        except OSError:                                 # no fork: simulate it in the parent
            job.stop()
    return job


def _child(job: Counterfactual, read_fd: int, write_fd: int) -> None:
    """Simulate the counterfactual, send its figures and warnings, exit (no cleanup, no I/O)."""
    code = 1
    try:
        signal.signal(signal.SIGINT, signal.SIG_DFL)    # the parent reports interrupts
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.close(read_fd)
        records: list = []

        class _Keep(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                records.append((record.name, record.levelno, record.msg, record.args))

        logger = logging.getLogger("reesim")
        logger.handlers = [_Keep(logging.WARNING)]
        logger.propagate = False
        from reesim.api import simulate
        from reesim.report.claims import regime_figures

        free = simulate(job.scenario, members=job.members, seed=job.seed)
        message = pickle.dumps((regime_figures(free.dataset), records))
        with os.fdopen(write_fd, "wb") as pipe:
            pipe.write(message)
        code = 0
    finally:
        os._exit(code)
