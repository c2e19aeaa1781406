"""Read scenarios: built-in names or YAML paths, ``extends`` chains, ``--set`` overrides.

Everything that can go wrong with user input ends in an :class:`~reesim.errors.InputError` that
names the file, the field and what is allowed; nothing here lets a traceback reach the user.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from reesim.datasets import load_inputs
from reesim.errors import InputError
from reesim.scenario.schema import EVENT_TYPES, Scenario

_MAX_EXTENDS_DEPTH = 10
_EVENT_TYPES = set(EVENT_TYPES)


def builtin_names() -> list[str]:
    """Names of the scenarios shipped with the package (calibration files live in a subfolder)."""
    folder = resources.files("reesim") / "scenarios"
    return sorted(p.name[:-5] for p in folder.iterdir()
                  if p.name.endswith(".yaml") and p.is_file())


def _builtin_text(name: str) -> str:
    return (resources.files("reesim") / "scenarios" / f"{name}.yaml").read_text("utf-8")


def _read_yaml(text: str, label: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise InputError(f"malformed YAML{where}: {problem}", file=label) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InputError("a scenario file must be a mapping of keys to values", file=label)
    return data


def _locate(name_or_path: str | Path, base: Path | None) -> tuple[str, str, Path | None]:
    """Return (text, label, folder) for a built-in name or a path (relative to ``base``)."""
    raw = str(name_or_path)
    if raw in builtin_names() and not raw.endswith((".yaml", ".yml")):
        return _builtin_text(raw), f"built-in scenario {raw!r}", None
    path = Path(raw)
    if base is not None and not path.is_absolute():
        path = base / path
    if not path.suffix and raw not in builtin_names():
        raise InputError(
            f"unknown scenario {raw!r}: not a built-in name and not a .yaml file",
            allowed="built-in names: " + ", ".join(builtin_names()) + ", or a path to a .yaml file",
        )
    if not path.is_file():
        raise InputError(f"scenario file not found: {path}",
                         allowed="built-in names: " + ", ".join(builtin_names()))
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read scenario file: {exc}", file=str(path)) from None
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


def _calibrated_parameters(reference: object, folder: Path | None, label: str) -> dict[str, Any]:
    """The ``parameters`` of a calibration file named by a scenario's ``calibration`` key.

    Paths are relative to the scenario file (built-ins: the package's scenarios folder). The
    file's other sections (the fit's metrics, date, identification) are provenance only.
    """
    if not isinstance(reference, str) or not reference.endswith((".yaml", ".yml")):
        raise InputError("`calibration` must name a .yaml file", file=label, field="calibration")
    if folder is None:
        path = resources.files("reesim") / "scenarios" / reference
        where = f"built-in calibration {reference!r}"
    else:
        path = folder / reference
        where = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, OSError):
        raise InputError(f"calibration file not found: {reference}", file=label,
                         field="calibration") from None
    params = _read_yaml(text, where).get("parameters", {})
    if not isinstance(params, dict):
        raise InputError("`parameters` must be a mapping", file=where, field="parameters")
    return params


def _resolve(name_or_path: str | Path, base: Path | None, depth: int,
             seen: tuple[str, ...]) -> tuple[dict[str, Any], str]:
    text, label, folder = _locate(name_or_path, base)
    if label in seen:
        raise InputError("circular `extends` chain: " + " -> ".join((*seen, label)), file=label)
    if depth > _MAX_EXTENDS_DEPTH:
        raise InputError(f"`extends` chain deeper than {_MAX_EXTENDS_DEPTH}", file=label)
    data = _read_yaml(text, label)
    if "calibration" in data:
        fitted = _calibrated_parameters(data.pop("calibration"), folder, label)
        data["parameters"] = merge(fitted, data.get("parameters") or {})
    parent = data.pop("extends", None)
    if parent is None:
        return data, label
    if not isinstance(parent, str):
        raise InputError("`extends` must be a scenario name or path", file=label, field="extends")
    parent_data, _ = _resolve(parent, folder, depth + 1, (*seen, label))
    return merge(parent_data, data), label


def apply_overrides(data: dict[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """Apply ``dotted.key=value`` overrides (values parsed as YAML; ``null`` removes the key)."""
    out = copy.deepcopy(data)
    for item in overrides:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise InputError(f"--set {item!r} must look like key.subkey=value", field="--set")
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw
        node = out
        parts = key.split(".")
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


def validate(data: dict[str, Any], label: str) -> Scenario:
    """Validate merged scenario data; the first problem becomes an :class:`InputError`."""
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
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
                message += f" (got {err['input']!r})"
        more = len(exc.errors()) - 1
        if more:
            message += f"; and {more} more problem{'s' if more > 1 else ''}"
        raise InputError(message, file=label, field=field, allowed=allowed) from None
    _check_ids(scenario, label)
    return scenario


def _check_ids(scenario: Scenario, label: str) -> None:
    """Producer and region ids in the scenario must exist in the packaged data."""
    data = load_inputs()
    producers = sorted(data["producers"].producer)
    regions = sorted(data["regions"].region)

    def need(value: str, allowed: list[str], field: str) -> None:
        if value not in allowed:
            raise InputError(f"unknown id {value!r}", file=label, field=field,
                             allowed=", ".join(allowed))

    need(scenario.market.trading_company.region, regions, "market.trading_company.region")
    for key, event in scenario.events.items():
        for attr, allowed in (("producer", producers), ("region", regions),
                              ("separation_region", regions)):
            if hasattr(event, attr):
                need(getattr(event, attr), allowed, f"events.{key}.{attr}")
        for attr, allowed in (("producers", producers), ("regions", regions)):
            for value in getattr(event, attr, []):
                need(value, allowed, f"events.{key}.{attr}")


def load_scenario(name_or_path: str | Path = "baotou", overrides: Sequence[str] = ()) -> Scenario:
    """Load a built-in scenario by name or a YAML file, apply ``overrides``, validate, return it."""
    data, label = _resolve(name_or_path, None, 0, ())
    if overrides:
        data = apply_overrides(data, overrides)
        label += " with --set " + " ".join(overrides)
    return validate(data, label)


def scenario_hash(scenario: Scenario) -> str:
    """Stable SHA-256 (hex, 16 chars) of the resolved scenario's canonical JSON."""
    canonical = json.dumps(scenario.model_dump(mode="json"), sort_keys=True,
                           separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]
