"""Output targets: check them before running, write atomically, never touch a user's files.

Every command that writes (``run``, ``validate``, ``calibrate``) goes through this module:

* :func:`check_folder` / :func:`check_file` run *before* any simulation and refuse a target that
  is an existing file where a folder is wanted (or the reverse), lies under a file, is a
  symbolic link, cannot be written, or is a non-empty folder that is not a reesim result. A
  previous reesim result (a folder holding reesim's marker file ``.reesim-output.json``, or a
  file written by reesim) is replaced only with ``overwrite=True``, and then only reesim's own
  files in it are replaced; anything else the user put there stays.
* :func:`write_folder` / :func:`write_file` write everything into a hidden temporary folder
  (``.<name>.reesim-tmp-<pid>-<random>``) beside the target and move it into place only when
  complete, so an interrupted or failed run leaves nothing. Partial folders left by a killed
  process (SIGKILL, power loss) are found by the next check beside the same parent and removed
  (their process is gone); they are reported through the returned notes.
* Signals: the CLI calls :func:`install_signal_handlers`, which turns SIGINT and SIGTERM into
  :class:`Interrupted` (a ``BaseException`` the command-line framework does not swallow). While
  files are written the signal is deferred to the end of the current file, then raised before
  anything is moved into place, so the outcome is all or nothing.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import signal
import tempfile
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

from reesim.errors import InputError

log = logging.getLogger("reesim.output")

MARKER = ".reesim-output.json"
"""Marker file of a reesim result folder: what wrote it and which files are reesim's own."""
FILE_SIGNATURE = "# Written by `reesim "
"""First characters of every single text file reesim writes (calibration files)."""
HTML_SIGNATURE = "<!-- Written by `reesim "
"""First characters of every single HTML page reesim writes (reports)."""
_SIGNATURES = (FILE_SIGNATURE, HTML_SIGNATURE)
_TMP = re.compile(r"^\.(?P<name>.+)\.reesim-(?:tmp|old)-(?P<pid>\d+)-[A-Za-z0-9_]+$")
_MAX_NAME_BYTES = 255


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived. ``signum`` is the signal's number.

    What was complete on disk by then is in :func:`written`; nothing partial is left.
    """

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(signal.Signals(signum).name)

    @property
    def exit_code(self) -> int:
        """The shell convention: 128 + the signal number (130 for SIGINT, 143 for SIGTERM)."""
        return 128 + self.signum


_pending: int | None = None
_deferring = 0
_installed = False
_held = False
_written: list[Path] = []


def note_written(path: str | Path) -> None:
    """Record that ``path`` (a folder or file the user asked for) is now complete on disk.

    The CLI names these when a signal stops the command afterwards (:func:`written`): an
    interruption after the final rename must not claim that nothing was written.
    """
    _written.append(Path(path))


def forget_written() -> None:
    """Start a new record of completed outputs (the CLI does at the start of each command)."""
    _written.clear()


def written() -> list[Path]:
    """The outputs completed so far in this process, in order (see :func:`note_written`)."""
    return list(_written)


def pending_signal() -> int | None:
    """The number of a signal that arrived and was not yet raised or dropped, else None."""
    return _pending


def _handler(signum: int, frame: FrameType | None) -> None:
    global _pending
    repeated = _pending is not None
    _pending = signum
    if repeated:                          # a second signal does not wait for the file
        raise Interrupted(signum)
    if _deferring == 0 and not _in_ctypes_callback(frame):
        raise Interrupted(signum)


def _in_ctypes_callback(frame: FrameType | None) -> bool:
    """Whether the signal arrived in a Python callback of compiled code (llvmlite's cache hook).

    An exception raised there cannot leave the callback: Python prints "Exception ignored" with
    a traceback and goes on. Seen on a clean clone, when SIGINT met numba loading a cached
    kernel. The signal then stays pending; every atomic write checks for it before its final
    rename (:func:`check_interrupt`), so the command still ends with nothing written.
    """
    marker = f"{os.sep}llvmlite{os.sep}"
    while frame is not None:
        if marker in frame.f_code.co_filename:
            return True
        frame = frame.f_back
    return False


def install_signal_handlers(hold: bool = False) -> None:
    """Make SIGINT and SIGTERM raise :class:`Interrupted` (the CLI calls this; a library not).

    ``hold`` keeps a signal pending (no exception) until :func:`release_hold`: the CLI installs
    the handlers while its modules import, where an exception would end in a traceback.
    """
    global _installed, _held, _deferring
    if not _installed:
        signal.signal(signal.SIGINT, _handler)
        signal.signal(signal.SIGTERM, _handler)
        _installed = True
    if hold and not _held:
        _deferring += 1
        _held = True


def release_hold() -> None:
    """End the hold of :func:`install_signal_handlers` and raise a signal that arrived in it."""
    global _held, _deferring
    if _held:
        _held = False
        _deferring -= 1
    check_interrupt()


@contextlib.contextmanager
def _deferred_signals() -> Iterator[None]:
    """Hold a signal until the block ends, then raise it (files are never half written)."""
    global _deferring
    _deferring += 1
    try:
        yield
    finally:
        _deferring -= 1
    check_interrupt()


def _hold_signals(action: Callable[[], None]) -> None:
    """Run ``action`` (the final rename) with signals held.

    A signal arriving meanwhile is dropped: the output is complete by then and the command
    reports it as written.
    """
    global _deferring
    _deferring += 1
    try:
        action()
    finally:
        _deferring -= 1


def check_interrupt() -> None:
    """Raise :class:`Interrupted` if a signal arrived and was deferred."""
    if _pending is not None:
        raise Interrupted(_pending)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale(parent: Path) -> list[str]:
    """Remove reesim's partial folders and files in ``parent`` whose process is gone.

    Returns one note per removed entry (the CLI prints them). Entries of a live process (a run
    still writing) are left alone.
    """
    notes: list[str] = []
    try:
        entries = list(parent.iterdir())
    except OSError:
        return notes
    for entry in entries:
        match = _TMP.match(entry.name)
        if not match or _process_alive(int(match.group("pid"))):
            continue
        target = parent / match.group("name")
        if ".reesim-old-" in entry.name and not target.exists() and entry.is_dir():
            os.replace(entry, target)     # an overwrite was killed between its two renames
            notes.append(f"restored {target} from an interrupted overwrite")
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        notes.append(f"removed {entry}, a partial output left by an interrupted run")
        log.warning("removed stale partial output %s", entry)
    return notes


def _read_marker(folder: Path) -> dict | None:
    try:
        marker = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(marker, dict) or not isinstance(marker.get("files"), list):
        return None
    # only plain file names directly in the folder count as reesim's (a marker edited to name
    # "../thesis.tex" must not make an overwrite delete it)
    marker["files"] = [name for name in marker["files"] if isinstance(name, str)
                       and name not in ("", ".", "..", MARKER) and "/" not in name
                       and os.sep not in name and "\0" not in name]
    return marker


def _check_common(target: Path, option: str) -> Path:
    """Checks shared by folders and files; returns the absolute target."""
    text = str(target)
    if not text.strip() or "\0" in text:
        raise InputError(f"{option} {text!r} is not a usable path", field=option)
    absolute = Path(os.path.abspath(target))
    for part in absolute.parts:
        if len(part.encode("utf-8", "surrogateescape")) > _MAX_NAME_BYTES:
            raise InputError(f"{option} {text}: a name in the path is longer than "
                             f"{_MAX_NAME_BYTES} bytes", field=option)
    if _TMP.match(absolute.name) or absolute.name == MARKER:
        raise InputError(f"{option} {text}: that name is reserved for reesim's partial outputs",
                         field=option)
    if target.is_symlink() or absolute.is_symlink():
        raise InputError(f"{option} {text} is a symbolic link; give the real path it points to "
                         "(reesim does not write through links)", field=option)
    ancestor = absolute.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        if ancestor.is_symlink():            # a dangling link in the path
            raise InputError(f"{option} {text}: {ancestor} is a broken symbolic link",
                             field=option)
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise InputError(f"{option} {text}: {ancestor} is a file, not a folder", field=option)
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise InputError(f"{option} {text}: cannot write in {ancestor} (permission denied)",
                         field=option)
    _probe(ancestor, text, option)
    return absolute


def _probe(folder: Path, text: str, option: str) -> None:
    """Create and remove an empty file in ``folder``: the only sure test that it is writable.

    Root passes every permission check and a read-only file system fails only on writing. The
    name follows the partial-output pattern, so a probe orphaned by a kill is cleaned later.
    """
    with _deferred_signals():         # never leave the probe behind
        try:
            fd, name = tempfile.mkstemp(prefix=_private_name(Path("probe"), "tmp"), dir=folder)
        except OSError as exc:
            raise InputError(f"{option} {text}: cannot write in {folder} "
                             f"({exc.strerror or exc})", field=option) from None
        os.close(fd)
        os.unlink(name)


def check_folder_path(target: str | Path, option: str = "--out") -> Path:
    """Refuse a folder target that is a file, a symbolic link or not writable; the absolute path.

    The checks every output folder shares, whatever may be in it (an ensemble folder is
    resumed, so its content is checked by its own rules).
    """
    target = Path(target)
    absolute = _check_common(target, option)
    if absolute.exists() and not absolute.is_dir():
        raise InputError(f"{option} {target} is an existing file, not a folder; give a new "
                         "folder name", field=option)
    return absolute


def folder_mode() -> int:
    """The permissions of a new folder under the process's umask (as ``mkdir`` gives).

    ``tempfile.mkdtemp`` makes its folders 0700; outputs made through one are set to this so
    every output folder has the same permissions.
    """
    return 0o777 & ~_umask()


def check_folder(target: str | Path, overwrite: bool = False, option: str = "--out") -> list[str]:
    """Refuse an output folder reesim must not write; return notes (e.g. stale partials removed).

    Allowed: a new path, an empty folder, or (with ``overwrite``) a previous reesim result.
    Raises :class:`InputError` (exit 2 in the CLI) with a one-line reason otherwise.
    """
    target = Path(target)
    absolute = check_folder_path(target, option)
    cwd = Path(os.path.abspath(os.getcwd()))
    if absolute == cwd or absolute in cwd.parents:
        raise InputError(f"{option} {target} is the current folder or contains it; give a new "
                         "folder name such as results/run1", field=option)
    if absolute.exists():
        if not os.access(absolute, os.W_OK | os.X_OK):
            raise InputError(f"{option} {target}: cannot write in it (permission denied)",
                             field=option)
        entries = [p.name for p in absolute.iterdir()]
        if entries:
            marker = _read_marker(absolute)
            if marker is None:
                raise InputError(f"{option} {target} exists, is not empty and is not a reesim "
                                 "result; reesim never overwrites other files: give a new "
                                 "folder name", field=option)
            if not overwrite:
                raise InputError(f"{option} {target} holds a previous reesim result; add "
                                 "--overwrite to replace its files, or give a new folder name",
                                 field=option)
            for name in marker["files"]:
                if (absolute / str(name)).is_dir():
                    raise InputError(f"{option} {target}: {name} is now a folder; move it away "
                                     "to overwrite this result", field=option)
    return clean_stale(absolute.parent) if absolute.parent.exists() else []


def check_file(target: str | Path, overwrite: bool = False, option: str = "--out") -> list[str]:
    """As :func:`check_folder` for a single output file (a calibration file)."""
    target = Path(target)
    absolute = _check_common(target, option)
    if absolute.exists():
        if absolute.is_dir():
            raise InputError(f"{option} {target} is a folder; give a file name", field=option)
        if not _written_by_reesim(absolute):
            raise InputError(f"{option} {target} exists and was not written by reesim; reesim "
                             "never overwrites other files: give a new file name", field=option)
        if not overwrite:
            raise InputError(f"{option} {target} holds a previous reesim output; add "
                             "--overwrite to replace it, or give a new file name", field=option)
        if not os.access(absolute, os.W_OK) or not os.access(absolute.parent, os.W_OK):
            raise InputError(f"{option} {target}: cannot replace it (permission denied)",
                             field=option)
    return clean_stale(absolute.parent) if absolute.parent.exists() else []


def _written_by_reesim(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            head = handle.read(max(len(s) for s in _SIGNATURES))
    except OSError:
        return False
    return any(head.startswith(s.encode()) for s in _SIGNATURES)


def _private_name(target: Path, kind: str) -> str:
    return f".{target.name}.reesim-{kind}-{os.getpid()}-"


Writer = Callable[[Path], None]
"""Writes one file at the given path."""


def write_folder(target: str | Path, files: Mapping[str, Writer | str], command: str,
                 overwrite: bool = False, derived: tuple[str, ...] = ()) -> Path:
    """Write ``files`` (name -> text, or a function writing to a path) into folder ``target``.

    Checks the target again (:func:`check_folder`), writes everything into a hidden temporary
    folder beside it and only then moves it into place: a new or empty target becomes the
    complete folder at once (one rename); a previous reesim result (``overwrite``) has its own
    files swapped for the new ones while anything else in it stays. Folder permissions follow
    the umask (the same for every output). Returns the target.

    ``derived`` names files other commands write into such a folder from its result (the
    ``report.html`` of ``reesim report``): not in the marker, yet describing the old result,
    so on overwrite they go with it if reesim wrote them (:func:`_derived_own`).
    """
    target = Path(os.path.abspath(target))
    check_folder(target, overwrite)
    _check_no_users_file(target, list(files), derived)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp: Path | None = None
    try:
        with _deferred_signals():       # no signal between creating the folder and owning it
            tmp = Path(tempfile.mkdtemp(prefix=_private_name(target, "tmp"), dir=target.parent))
        tmp.chmod(folder_mode())
        names = list(files)
        for name, content in files.items():
            with _deferred_signals():
                if isinstance(content, str):
                    (tmp / name).write_text(content, encoding="utf-8")
                else:
                    content(tmp / name)
        marker = {"written_by": "reesim", "command": command, "files": names,
                  "created_utc": datetime.now(UTC).isoformat(timespec="seconds")}
        (tmp / MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
        check_interrupt()
        _hold_signals(lambda: _move_into_place(tmp, target, names, derived))
    except BaseException:
        if tmp is not None:
            _hold_signals(lambda: shutil.rmtree(tmp, ignore_errors=True))
        raise
    note_written(target)
    return target


def _check_no_users_file(target: Path, names: list[str], derived: tuple[str, ...]) -> None:
    """Refuse to write a file over one of the same name in ``target`` that is not reesim's.

    A previous result lists its own files in its marker; a new result may bring a file the old
    one had not (``report.html``), and a user's file of that name must not be replaced.
    """
    if not target.is_dir():
        return
    marker = _read_marker(target) or {"files": []}
    own = {*marker["files"], *_derived_own(target, derived)}
    for name in names:
        if name not in own and os.path.lexists(target / name):
            raise InputError(f"--out {target}: {name} in it was not written by reesim; reesim "
                             "never overwrites other files: move it away or give a new folder "
                             "name", field="--out")


def _derived_own(target: Path, derived: tuple[str, ...]) -> set[str]:
    """The ``derived`` names in ``target`` that reesim wrote: a signed file or a reesim folder.

    A user's own file of the same name (no signature) is not reesim's and stays.
    """
    own = set()
    for name in derived:
        path = target / name
        if path.is_symlink():
            continue
        if (path.is_file() and _written_by_reesim(path)) or (
                path.is_dir() and _read_marker(path) is not None):
            own.add(name)
    return own


def _move_into_place(tmp: Path, target: Path, names: list[str],
                     derived: tuple[str, ...] = ()) -> None:
    if not target.exists():
        os.replace(tmp, target)
        return
    previous = _read_marker(target)
    own = {MARKER, *(str(n) for n in (previous or {}).get("files", [])),
           *_derived_own(target, derived)}
    present = {p.name for p in target.iterdir()}
    if present <= own:
        # only reesim's files: swap the whole folder (two renames; a kill between them is
        # undone by the next run's clean_stale, which restores the old folder)
        old = Path(tempfile.mkdtemp(prefix=_private_name(target, "old"), dir=target.parent))
        os.replace(target, old)
        os.replace(tmp, target)
        shutil.rmtree(old, ignore_errors=True)
        return
    # the user keeps other files in the folder: replace reesim's files one by one (each
    # rename is atomic), drop reesim's old files the new result does not have, marker last
    (target / MARKER).unlink(missing_ok=True)
    for name in names:
        os.replace(tmp / name, target / name)
    for name in own - set(names) - {MARKER}:
        stale = target / name
        if stale.is_file() and not stale.is_symlink():
            stale.unlink()
        elif name in derived and stale.is_dir() and not stale.is_symlink():
            shutil.rmtree(stale, ignore_errors=True)     # a reesim folder (report figures)
    os.replace(tmp / MARKER, target / MARKER)
    shutil.rmtree(tmp, ignore_errors=True)


def write_file(target: str | Path, text: str, overwrite: bool = False) -> Path:
    """Write one text file atomically (temporary file beside it, then a rename).

    The text must start with :data:`FILE_SIGNATURE` (or :data:`HTML_SIGNATURE` for a page) so a
    later run recognises the file as reesim's own; an existing file is replaced only with
    ``overwrite`` (see :func:`check_file`).
    """
    if not text.startswith(_SIGNATURES):
        raise ValueError(f"reesim's output files start with one of {_SIGNATURES!r}")
    target = Path(os.path.abspath(target))
    check_file(target, overwrite)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp: str | None = None
    try:
        with _deferred_signals():
            fd, tmp = tempfile.mkstemp(prefix=_private_name(target, "tmp"), dir=target.parent)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.chmod(tmp, 0o666 & ~_umask())
        _hold_signals(lambda: os.replace(tmp, target))
    except BaseException:
        if tmp is not None:
            _hold_signals(lambda: Path(tmp).unlink(missing_ok=True))
        raise
    note_written(target)
    return target


def replace_atomically(path: str | Path, write: Writer) -> Path:
    """Write one file of reesim's own folder layout (a chunk, an export) through a rename.

    ``write`` fills a temporary file beside ``path``, which then replaces ``path`` in one
    rename, so readers never see a partial file. For files inside folders reesim owns (an
    ensemble folder) or targets already checked by :func:`check_file`; user-facing targets go
    through :func:`write_file` or :func:`write_folder`.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(_private_name(path, "tmp") + "file")
    try:
        with _deferred_signals():
            write(tmp)
        _hold_signals(lambda: os.replace(tmp, path))
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
