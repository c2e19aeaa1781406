"""Read scenarios: built-in names or YAML paths, ``extends`` chains, ``--set`` overrides.

Everything that can go wrong with user input ends in an :class:`~reesim.errors.InputError` that
names the file, the field and what is allowed; nothing here lets a traceback reach the user.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from reesim.datasets import SAFE_LOADER, load_inputs
from reesim.dims import MONTHS_PER_YEAR
from reesim.errors import InputError
from reesim.scenario.schema import EVENT_TYPES, Scenario

log = logging.getLogger("reesim.scenario")

_MAX_EXTENDS_DEPTH = 10
_EVENT_TYPES = set(EVENT_TYPES)


MAX_FILE_BYTES = 1_000_000
"""Largest scenario or calibration file read (1 MB; the built-ins are under 20 kB)."""
MAX_NODES = 100_000
"""Most values a scenario may hold once YAML aliases are expanded (guards alias bombs)."""
MAX_NESTING = 40
"""Deepest nesting of mappings and lists in a scenario."""


def builtin_names() -> list[str]:
    """Names of the scenarios shipped with the package (calibration files live in a subfolder)."""
    folder = resources.files("reesim") / "scenarios"
    return sorted(p.name[:-5] for p in folder.iterdir()
                  if p.name.endswith(".yaml") and p.is_file())


def _builtin_text(name: str) -> str:
    return (resources.files("reesim") / "scenarios" / f"{name}.yaml").read_text("utf-8")


class _Loader(SAFE_LOADER):  # type: ignore[misc,valid-type]
    """The packaged data's safe loader, refusing duplicate keys (YAML says they are an error).

    libyaml's parser when PyYAML has it; the values come from the same safe constructor.
    """


def _construct_mapping(loader: _Loader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict[object, yaml.Node] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            duplicate = key in seen
        except TypeError:       # an unhashable key (a list): PyYAML reports it below
            duplicate = False
        if duplicate:
            first = seen[key].start_mark.line + 1
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (first at line {first})", key_node.start_mark)
        if not isinstance(key, list | dict):
            seen[key] = key_node
    return yaml.constructor.SafeConstructor.construct_mapping(loader, node, deep=deep)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _check_structure(data: object, label: str) -> None:
    """Refuse recursive aliases, alias bombs and absurd nesting before anything walks the data."""
    count = 0
    stack: list[tuple[object, int, frozenset[int]]] = [(data, 0, frozenset())]
    while stack:
        node, depth, ancestors = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise InputError(f"the scenario holds more than {MAX_NODES} values (YAML aliases "
                             "expanded): not a scenario", file=label)
        if depth > MAX_NESTING:
            raise InputError(f"values nested deeper than {MAX_NESTING} levels: not a scenario",
                             file=label)
        if isinstance(node, dict | list):
            if id(node) in ancestors:
                raise InputError("a YAML alias refers to itself (a recursive structure)",
                                 file=label)
            inner = ancestors | {id(node)}
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, depth + 1, inner) for child in children)


def _read_yaml(text: str, label: str) -> dict[str, Any]:
    if len(text) > MAX_FILE_BYTES:
        raise InputError(f"file larger than {MAX_FILE_BYTES // 1000} kB: not a scenario",
                         file=label)
    try:
        data = yaml.load(text, Loader=_Loader)  # _Loader is a safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise InputError(f"malformed YAML{where}: {problem}", file=label) from None
    except RecursionError:
        raise InputError(f"values nested too deeply: not a scenario (at most {MAX_NESTING} "
                         "levels)", file=label) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InputError("a scenario file must be a mapping of keys to values", file=label)
    _check_structure(data, label)
    bad_keys = [k for k in data if not isinstance(k, str)]
    if bad_keys:
        raise InputError(f"top-level keys must be names, got {bad_keys[0]!r}", file=label)
    return data


def _read_file(path: Path, label: str, referrer: str | None, field: str | None) -> str:
    """Read a scenario or calibration file with a size limit; errors name the referrer."""
    try:
        size = path.stat().st_size
    except OSError:
        size = 0
    if size > MAX_FILE_BYTES:
        raise InputError(f"{path} is larger than {MAX_FILE_BYTES // 1000} kB: not a scenario",
                         file=referrer or label, field=field)
    try:
        with path.open("r", encoding="utf-8") as handle:
            text = handle.read(MAX_FILE_BYTES + 1)
    except UnicodeDecodeError:
        raise InputError(f"{path} is not UTF-8 text (a binary file?)", file=referrer or label,
                         field=field) from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}", file=referrer or label,
                         field=field) from None
    return text


@dataclass
class _Source:
    """One file (or the --set overrides) of a scenario's chain and the raw data it set."""

    label: str
    data: dict[str, Any]


def _allowed_paths(root: Path | None) -> str:
    where = f"and .yaml files in {root} or below it" if root else "only"
    return f"built-in scenarios ({', '.join(builtin_names())}) {where}"


def _locate(name_or_path: str | Path, base: Path | None, root: Path | None,
            referrer: str | None, field: str = "extends") -> tuple[str, str, Path | None]:
    """Return (text, label, folder) for a built-in name or a path.

    The scenario a user names may be anywhere; what it references (``extends``) must be a
    built-in name or a .yaml file inside the folder of that first scenario (``root``), so a
    scenario cannot reach arbitrary files on disk. Built-ins reference built-ins only.
    """
    raw = str(name_or_path)
    names = builtin_names()
    if raw in names and not raw.endswith((".yaml", ".yml")):
        return _builtin_text(raw), f"built-in scenario {raw!r}", None
    if referrer is not None and base is None:
        raise InputError(f"unknown built-in scenario {raw!r}", file=referrer, field=field,
                         allowed=", ".join(names))
    path = Path(raw)
    if referrer is not None and base is not None:
        if path.is_absolute():
            raise InputError(f"`{field}: {raw}` is an absolute path", file=referrer,
                             field=field, allowed=_allowed_paths(root))
        path = base / path
        resolved = path.resolve()
        if root is not None and not resolved.is_relative_to(root):
            raise InputError(f"`{field}: {raw}` leaves the scenario folder {root}",
                             file=referrer, field=field, allowed=_allowed_paths(root))
    if path.suffix not in (".yaml", ".yml"):
        if referrer is not None:
            raise InputError(f"`{field}: {raw}` is neither a built-in name nor a .yaml file",
                             file=referrer, field=field, allowed=_allowed_paths(root))
        raise InputError(
            f"unknown scenario {raw!r}: not a built-in name and not a .yaml file",
            allowed="built-in names: " + ", ".join(names) + ", or a path to a .yaml file",
        )
    if not path.is_file():
        if referrer is not None:
            raise InputError(f"`{field}: {raw}`: file not found ({path})", file=referrer,
                             field=field, allowed=_allowed_paths(root))
        raise InputError(f"scenario file not found: {path}",
                         allowed="built-in names: " + ", ".join(names))
    text = _read_file(path, str(path), referrer, field if referrer else None)
    return text, str(path), path.parent


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge ``override`` into ``base``; mappings merge, a ``null`` value deletes the key."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _calibrated_parameters(reference: object, folder: Path | None, root: Path | None,
                           label: str) -> tuple[dict[str, Any], str]:
    """The ``parameters`` (and fitted ``constants``) of the calibration file a scenario names.

    Paths are relative to the scenario file (built-ins: the package's scenarios folder) and,
    as for ``extends``, must stay inside the first scenario's folder. The file's other sections
    (the fit's metrics, date, identification) are provenance only. Returns ({section: values},
    label).
    """
    if not isinstance(reference, str) or not reference.endswith((".yaml", ".yml")):
        raise InputError("`calibration` must name a .yaml file", file=label, field="calibration")
    if folder is None:
        path = resources.files("reesim") / "scenarios" / reference
        where = f"built-in calibration {reference!r}"
        if Path(reference).is_absolute() or ".." in Path(reference).parts:
            raise InputError(f"`calibration: {reference}` leaves the built-in scenarios",
                             file=label, field="calibration")
        try:
            text = path.read_text(encoding="utf-8")
        except (FileNotFoundError, OSError):
            raise InputError(f"calibration file not found: {reference}", file=label,
                             field="calibration") from None
    else:
        local = Path(reference)
        if local.is_absolute():
            raise InputError(f"`calibration: {reference}` is an absolute path", file=label,
                             field="calibration", allowed=f"a .yaml file in {root} or below")
        file_path = folder / local
        if root is not None and not file_path.resolve().is_relative_to(root):
            raise InputError(f"`calibration: {reference}` leaves the scenario folder {root}",
                             file=label, field="calibration",
                             allowed=f"a .yaml file in {root} or below")
        if not file_path.is_file():
            raise InputError(f"calibration file not found: {reference}", file=label,
                             field="calibration")
        where = str(file_path)
        text = _read_file(file_path, where, label, "calibration")
    doc = _read_yaml(text, where)
    params, constants = doc.get("parameters", {}), doc.get("constants", {})
    if not isinstance(params, dict):
        raise InputError("`parameters` must be a mapping", file=where, field="parameters")
    if not isinstance(constants, dict):
        raise InputError("`constants` must be a mapping", file=where, field="constants")
    return {"parameters": params, **({"constants": constants} if constants else {})}, where


def _resolve(name_or_path: str | Path, base: Path | None, root: Path | None, depth: int,
             seen: tuple[str, ...], referrer: str | None, calibrated: bool = True,
             ) -> tuple[dict[str, Any], str, list[_Source]]:
    """Merged data, label and the chain's sources (most derived first) of a scenario.

    Without ``calibrated`` the chain's ``calibration:`` files are not read (their fitted values
    left out, the scenarios' own kept).
    """
    text, label, folder = _locate(name_or_path, base, root, referrer)
    if label in seen:
        raise InputError("circular `extends` chain: " + " -> ".join((*seen, label)),
                         file=referrer or label, field="extends")
    if depth > _MAX_EXTENDS_DEPTH:
        raise InputError(f"`extends` chain deeper than {_MAX_EXTENDS_DEPTH}",
                         file=referrer or label, field="extends")
    if root is None and folder is not None:
        root = folder.resolve()
    data = _read_yaml(text, label)
    sources = [_Source(label, copy.deepcopy(data))]
    if "calibration" in data and not calibrated:
        data.pop("calibration")
    if "calibration" in data:
        fitted, where = _calibrated_parameters(data.pop("calibration"), folder, root, label)
        for section, values in fitted.items():   # parameters (and fitted constants, if any)
            own = data.get(section) or {}
            data[section] = merge(values, own) if isinstance(own, dict) else own
        sources.append(_Source(where, fitted))
    parent = data.pop("extends", None)
    if parent is None:
        return data, label, sources
    if not isinstance(parent, str):
        raise InputError("`extends` must be a scenario name or path", file=label, field="extends")
    parent_data, _, parent_sources = _resolve(parent, folder, root, depth + 1, (*seen, label),
                                              label, calibrated)
    return merge(parent_data, data), label, sources + parent_sources


MAX_OVERRIDE_CHARS = 10_000
"""Longest ``--set`` item accepted."""


def apply_overrides(data: dict[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """Apply ``dotted.key=value`` overrides (values parsed as YAML; ``null`` removes the key)."""
    out = copy.deepcopy(data)
    for item in overrides:
        if not isinstance(item, str):
            raise InputError(f"--set {item!r} must be a string key.subkey=value", field="--set")
        if len(item) > MAX_OVERRIDE_CHARS:
            raise InputError(f"--set item longer than {MAX_OVERRIDE_CHARS} characters",
                             field="--set")
        key, sep, raw = item.partition("=")
        key = key.strip()
        parts = key.split(".")
        if not sep or not key or any(not p.strip() for p in parts):
            raise InputError(f"--set {item!r} must look like key.subkey=value", field="--set",
                             allowed="e.g. --set market.regime=free_market")
        try:
            value = yaml.load(raw, Loader=_Loader) if raw.strip() else ""
        except (yaml.YAMLError, RecursionError):
            value = raw
        _check_structure(value, f"--set {key}")
        node = out
        for part in parts[:-1]:
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            if not isinstance(child, dict):
                raise InputError(f"--set {key}: {part!r} is not a section", field=key)
            node = child
        if value is None:                    # as in `extends`, null removes the key
            node.pop(parts[-1], None)
        else:
            node[parts[-1]] = value
    return out


def _allowed_at(model: type[BaseModel], loc: tuple[Any, ...]) -> str | None:
    """Field names allowed at ``loc`` (for unknown-key errors), walking nested models."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        field = current.model_fields.get(str(part))
        if field is None:
            return None
        annotation = field.annotation
        candidates = [annotation, *get_args(annotation)]
        current = next((c for c in candidates
                        if isinstance(c, type) and issubclass(c, BaseModel)), None)
        if current is None and get_origin(annotation) is dict:
            return None
    if isinstance(current, type) and issubclass(current, BaseModel):
        return ", ".join(current.model_fields)
    return None


def _has_path(data: object, loc: tuple[Any, ...]) -> int:
    """How many leading parts of ``loc`` exist in ``data`` (mappings and lists)."""
    node, depth = data, 0
    for part in loc:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            break
        depth += 1
    return depth


def _owner(loc: tuple[Any, ...], sources: Sequence[_Source], label: str) -> str:
    """The file that set the value at ``loc``: the most derived with the longest match."""
    best, owner = 0, label
    for source in sources:
        depth = _has_path(source.data, loc)
        if depth > best:
            best, owner = depth, source.label
    return owner


@dataclass
class _Problem:
    file: str
    field: str
    message: str
    allowed: str | None = None


def _problems(exc: ValidationError, sources: Sequence[_Source], label: str) -> list[_Problem]:
    out = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        if len(loc) > 2 and loc[0] == "events" and loc[2] in _EVENT_TYPES:
            loc = loc[:2] + loc[3:]            # drop pydantic's union tag from the path
        field = ".".join(str(p) for p in loc) or "(top level)"
        allowed = None
        if err["type"] == "extra_forbidden":
            allowed = _allowed_at(Scenario, loc)
            message = f"unknown key {loc[-1]!r}"
        else:
            message = err["msg"].removeprefix("Value error, ")
            if "input" in err and not isinstance(err["input"], dict | list):
                shown = repr(err["input"])
                message += f" (got {shown[:80]}{'...' if len(shown) > 80 else ''})"
        if not loc and message.startswith("uncertainty."):
            field, _, message = message.partition(": ")
            loc = tuple(field.split("."))
        out.append(_Problem(_owner(loc, sources, label), field, message, allowed))
    return out


def _raise(problems: list[_Problem]) -> None:
    """One problem: the usual one-screen error; several: all of them, one per line."""
    if len(problems) == 1:
        p = problems[0]
        raise InputError(p.message, file=p.file, field=p.field, allowed=p.allowed)
    lines = [f"{len(problems)} problems in the scenario:"]
    for p in problems:
        lines.append(f"  - {p.message} (in {p.file}, field {p.field})")
        if p.allowed:
            lines.append(f"      allowed: {p.allowed}")
    error = InputError("\n".join(lines))
    error.file, error.field, error.allowed = problems[0].file, problems[0].field, None
    raise error


def validate(data: dict[str, Any], label: str,
             sources: Sequence[_Source] = ()) -> Scenario:
    """Validate merged scenario data; ALL problems become one :class:`InputError`.

    Each problem names the file that set the offending value (``sources``: the chain's files,
    most derived first), the field and what is allowed.
    """
    problems = _id_problems(data, sources, label)
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        problems = _problems(exc, sources, label) + problems
        _raise(problems)
    if problems:
        _raise(problems)
    return scenario


def _id_problems(data: dict[str, Any], sources: Sequence[_Source],
                 label: str) -> list[_Problem]:
    """Producer and region ids in the (raw) scenario must exist in the packaged data."""
    tables = load_inputs()
    producers = sorted(tables["producers"].producer)
    regions = sorted(tables["regions"].region)
    out: list[_Problem] = []

    def need(value: object, allowed: list[str], loc: tuple[Any, ...]) -> None:
        if isinstance(value, str) and value not in allowed:
            out.append(_Problem(_owner(loc, sources, label), ".".join(map(str, loc)),
                                f"unknown id {value!r}", ", ".join(allowed)))

    market = data.get("market")
    company = market.get("trading_company") if isinstance(market, dict) else None
    if isinstance(company, dict) and "region" in company:
        need(company["region"], regions, ("market", "trading_company", "region"))
    events = data.get("events")
    for key, event in (events.items() if isinstance(events, dict) else ()):
        if not isinstance(event, dict):
            continue
        for attr, allowed in (("producer", producers), ("region", regions),
                              ("separation_region", regions)):
            if attr in event:
                need(event[attr], allowed, ("events", key, attr))
        for attr, allowed in (("producers", producers), ("regions", regions)):
            if isinstance(event.get(attr), list):
                for i, value in enumerate(event[attr]):
                    need(value, allowed, ("events", key, attr, i))
    return out


def load_scenario(name_or_path: str | Path = "baotou", overrides: Sequence[str] = (),
                  calibrated: bool = True) -> Scenario:
    """Load a built-in scenario by name or a YAML file, apply ``overrides``, validate, return it.

    ``calibrated=False`` leaves out the fitted values of the scenario's ``calibration:`` files
    (a backtest's fit must not start from values fitted to the years it is scored on).

    Every problem is reported at once, each naming its file and field (an
    :class:`~reesim.errors.InputError`); nothing else can escape.
    """
    if not isinstance(name_or_path, str | Path):
        raise InputError(f"scenario must be a built-in name or a path, got "
                         f"{type(name_or_path).__name__}", field="scenario",
                         allowed=", ".join(builtin_names()) + ", or a path to a .yaml file")
    if isinstance(overrides, str) or not isinstance(overrides, Sequence):
        raise InputError("overrides must be a list of key=value strings", field="--set")
    data, label, sources = _resolve(name_or_path, None, None, 0, (), None, calibrated)
    if overrides:
        data = apply_overrides(data, overrides)
        sources = [_Source("--set " + " ".join(overrides), apply_overrides({}, overrides)),
                   *sources]
    scenario = validate(data, label, sources)
    outside = events_outside_the_run(scenario)
    if outside:
        message = (f"{label}: {len(outside)} event{'s' if len(outside) > 1 else ''} wholly "
                   f"outside the run's years {scenario.start_year}-{scenario.end_year}, without "
                   f"effect: {', '.join(outside)}")
        if message not in _WARNED:          # once a process: `attribute` loads it a dozen times
            _WARNED.add(message)
            log.warning(message)
    return scenario


_WARNED: set[str] = set()
"""The outside-the-run warnings already given in this process."""


def events_outside_the_run(scenario: Scenario) -> list[str]:
    """Names of the scenario's events whose whole window lies outside its years.

    An event acts over its :meth:`active_months` (a stockpile order over its ``months``); one
    that ends before January of ``start_year`` or starts after December of ``end_year`` has no
    effect, which is worth a warning: a shortened run (``--set end_year=...``) or a mistyped
    year drops it silently otherwise.
    """
    first = MONTHS_PER_YEAR * scenario.start_year
    after = MONTHS_PER_YEAR * (scenario.end_year + 1)
    outside = []
    for name, event in scenario.events.items():
        start, stop = event.active_months()
        if start >= after or (stop is not None and stop <= first):
            outside.append(name)
    return outside


def scenario_hash(scenario: Scenario) -> str:
    """Stable SHA-256 (hex, 16 chars) of the resolved scenario's canonical JSON."""
    canonical = json.dumps(scenario.model_dump(mode="json"), sort_keys=True,
                           separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]
