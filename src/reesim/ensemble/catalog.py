"""The run catalog: a DuckDB file recording every run and ensemble, queryable by SQL.

DuckDB lets one process write a database file at a time, so every write opens the file under
an exclusive file lock (``<catalog>.lock``), writes, and closes it; a second writer waits for
the lock (and retries if DuckDB itself still reports the file busy). Readers take the same
lock briefly. ``query`` exposes the table ``runs`` and a view ``outcomes`` over the Parquet
outcome files of all finished ensembles (with ``run_id``), so outcomes are queryable in SQL.
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from reesim.errors import InputError, ReesimError

log = logging.getLogger("reesim.ensemble.catalog")

CATALOG_NAME = "catalog.duckdb"
LOCK_TIMEOUT_S = 120.0
DUCKDB_MAGIC = b"DUCK"
"""Bytes 8-11 of every DuckDB database file."""
RUN_KINDS = ("run", "ensemble")
"""The kinds of entries in the catalog (``reesim runs --kind``)."""
RUN_STATUSES = ("running", "done", "failed", "interrupted")
"""The statuses an entry can have (``reesim runs --status``)."""
_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id VARCHAR PRIMARY KEY, kind VARCHAR, scenario VARCHAR, scenario_hash VARCHAR,
    seed BIGINT, code_version VARCHAR, data_version VARCHAR, members BIGINT, design VARCHAR,
    path VARCHAR, outcomes VARCHAR, started_utc TIMESTAMP, finished_utc TIMESTAMP,
    status VARCHAR, host_pid BIGINT)
"""


def default_catalog(out: str | Path) -> Path:
    """REESIM_CATALOG if set, else ``catalog.duckdb`` in the folder that holds ``out``."""
    env = os.environ.get("REESIM_CATALOG")
    return Path(env) if env else Path(out).resolve().parent / CATALOG_NAME


def listed_catalog() -> Path:
    """The catalog ``reesim runs`` reads without ``--catalog``.

    REESIM_CATALOG, else ``results/catalog.duckdb`` (relative to where it is typed).
    """
    return Path(os.environ.get("REESIM_CATALOG") or Path("results") / CATALOG_NAME)


def listing_hint(out: str | Path) -> str:
    """Where the run in ``out`` is catalogued, said when ``reesim runs`` alone would not find it.

    ``reesim runs`` reads REESIM_CATALOG or ``results/catalog.duckdb`` (from where it is typed);
    a run written elsewhere is recorded beside its folder (:func:`default_catalog`). Returns
    ``""`` when the two agree, else a sentence with the ``--catalog`` to pass.
    """
    recorded = default_catalog(out).resolve()
    return "" if recorded == listed_catalog().resolve() else (
        f"catalogued in {recorded} (list it: reesim runs --catalog {recorded})")


def _raise_if_interrupted(exc: Exception) -> None:
    """Raise :class:`~reesim.output.Interrupted` if ``exc`` is DuckDB stopped by a signal.

    DuckDB checks for signals while it works and ends the query with ``InterruptException``
    or ``RuntimeError: Query interrupted``; that is the user's Ctrl-C, not a catalog error.
    """
    import signal

    import duckdb

    from reesim.output import Interrupted, pending_signal

    if isinstance(exc, duckdb.InterruptException) or (
            pending_signal() is not None and "interrupt" in str(exc).lower()):
        raise Interrupted(pending_signal() or signal.SIGINT) from exc


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Catalog:
    """A catalog file; every method opens, uses and closes it under the file lock."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def _connect(self, write: bool, action):
        import duckdb
        from filelock import FileLock, Timeout

        if write:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        elif not self.path.exists():
            raise InputError(f"no run catalog at {self.path}", field="--catalog",
                             allowed="a catalog.duckdb written by `reesim run`/`ensemble`")
        self._check_is_duckdb()            # before the lock file is made beside it
        deadline = time.monotonic() + LOCK_TIMEOUT_S
        lock = FileLock(str(self.path) + ".lock")
        while True:
            try:
                with lock.acquire(timeout=max(0.1, deadline - time.monotonic())):
                    con = duckdb.connect(str(self.path), read_only=not write)
                    try:
                        if write:
                            con.execute(_SCHEMA)
                        return action(con)
                    finally:
                        con.close()
            except Timeout:
                raise ReesimError(f"the run catalog {self.path} stayed locked for "
                                  f"{LOCK_TIMEOUT_S:.0f} s") from None
            except duckdb.IOException as exc:          # held by a process without our lock
                if "lock" not in str(exc).lower():
                    raise ReesimError(f"cannot use the run catalog {self.path}: {exc}") from None
                if time.monotonic() > deadline:
                    raise ReesimError(f"cannot open the run catalog {self.path}: {exc}") from None
                time.sleep(0.2)
            except (duckdb.InterruptException, RuntimeError) as exc:
                _raise_if_interrupted(exc)
                raise
            except duckdb.Error as exc:                # not a DuckDB file, or a broken one
                raise ReesimError(f"cannot use the run catalog {self.path}: {exc}") from None

    def _check_is_duckdb(self) -> None:
        """Refuse an existing file that is not a DuckDB database (its header says ``DUCK``).

        Checked before the lock is taken: the lock file ``<catalog>.lock`` would otherwise be
        left beside a file that is no catalog. An empty file is a new catalog to DuckDB.
        """
        try:
            with self.path.open("rb") as handle:
                head = handle.read(12)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise InputError(f"cannot read the run catalog {self.path}: "
                             f"{exc.strerror or exc}", field="--catalog") from None
        if head and head[8:12] != DUCKDB_MAGIC:
            raise InputError(f"{self.path} is not a run catalog (not a DuckDB database)",
                             field="--catalog",
                             allowed="a catalog.duckdb written by `reesim run`/`ensemble`")

    def start(self, *, kind: str, scenario: str, scenario_hash: str, seed: int,
              code_version: str, data_version: str, members: int, path: str | Path,
              design: dict[str, Any] | None = None, finished: bool = False) -> str:
        """Record a run as ``running`` (``finished``: as ``done`` now); returns its ``run_id``."""
        run_id = uuid.uuid4().hex[:12]
        now = _now()
        row = (run_id, kind, scenario, scenario_hash, seed, code_version, data_version, members,
               json.dumps(design or {}, sort_keys=True, default=str), str(Path(path).resolve()),
               None, now, now if finished else None, "done" if finished else "running",
               os.getpid())
        self._connect(True, lambda con: con.execute(
            "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row))
        return run_id

    def finish(self, run_id: str, status: str, outcomes: str | Path | None = None) -> None:
        """Mark a run ``done`` or ``failed`` (with its outcomes file, if any)."""
        self._connect(True, lambda con: con.execute(
            "UPDATE runs SET status = ?, finished_utc = ?, outcomes = ? WHERE run_id = ?",
            (status, _now(), str(outcomes) if outcomes else None, run_id)))

    def runs(self, where: dict[str, str] | None = None) -> pd.DataFrame:
        """The recorded runs, newest first, optionally filtered by exact column values."""
        clauses, params = [], []
        for column, value in (where or {}).items():
            if column not in ("kind", "scenario", "status", "scenario_hash", "run_id"):
                raise InputError(f"cannot filter runs by {column!r}", field="filter",
                                 allowed="kind, scenario, status, scenario_hash, run_id")
            choices = {"kind": RUN_KINDS, "status": RUN_STATUSES}.get(column)
            if choices and value not in choices:
                raise InputError(f"--{column} {value!r} is not a {column} of the catalog",
                                 field=f"--{column}", allowed=", ".join(choices))
            clauses.append(f"{column} = ?")
            params.append(value)
        sql = "SELECT * FROM runs" + (" WHERE " + " AND ".join(clauses) if clauses else "")
        return self._connect(False, lambda con: con.execute(
            sql + " ORDER BY started_utc DESC", params).df())

    def query(self, sql: str) -> pd.DataFrame:
        """Run SQL over ``runs`` and ``outcomes`` (all finished ensembles' outcome tables)."""
        import duckdb

        def action(con):
            files = [r[0] for r in con.execute(
                "SELECT outcomes FROM runs WHERE status = 'done' AND outcomes IS NOT NULL"
                " ORDER BY started_utc").fetchall() if Path(r[0]).is_file()]
            if files:
                ids = {str(Path(f).resolve()): _run_id(con, f) for f in files}
                cases = " ".join(f"WHEN filename = {_sql_text(k)} THEN {_sql_text(v)}"
                                 for k, v in ids.items())
                listing = ", ".join(_sql_text(f) for f in files)
                con.execute(f"CREATE TEMP VIEW outcomes AS SELECT CASE {cases} END AS run_id, "
                            f"* EXCLUDE (filename) FROM read_parquet([{listing}], "
                            "union_by_name = true, filename = true)")
            else:
                con.execute("CREATE TEMP VIEW outcomes AS SELECT NULL::VARCHAR AS run_id, "
                            "NULL::BIGINT AS member WHERE false")
            try:
                return con.execute(sql).df()
            except duckdb.Error as exc:
                raise InputError(f"SQL failed: {exc}", field="--sql",
                                 allowed="DuckDB SQL over the tables runs and outcomes") from None

        return self._connect(False, action)


def _run_id(con, outcomes_file: str) -> str:
    return con.execute("SELECT run_id FROM runs WHERE outcomes = ? ORDER BY started_utc DESC",
                       (outcomes_file,)).fetchone()[0]


def _sql_text(text: str) -> str:
    """A SQL string literal (quotes doubled)."""
    return "'" + text.replace("'", "''") + "'"


def record_run(manifest: dict[str, Any], path: str | Path) -> str:
    """Record a finished single run (``reesim run``) from its manifest; returns its id.

    One opening of the catalog (a run recorded as started, then finished, took two).
    """
    return Catalog(default_catalog(path)).start(
        kind="run", scenario=manifest["scenario"], scenario_hash=manifest["scenario_hash"],
        seed=manifest["seed"], code_version=manifest["reesim_version"],
        data_version=manifest["data_version"], members=manifest["members"], path=path,
        design={"output_frequency": manifest["output_frequency"]}, finished=True)
