"""The official example bodies (samples/official/) and a recursive comparison of shapes against them."""

from __future__ import annotations

import json
from collections.abc import Collection
from pathlib import Path
from typing import Any

OFFICIAL = Path(__file__).parents[1] / "samples" / "official"


def sample(name: str) -> Any:
    """The parsed body of `samples/official/<name>.json`."""
    return json.loads((OFFICIAL / f"{name}.json").read_text(encoding="utf-8"))


def sample_text(name: str) -> str:
    """The body as it is stored (the description's text, indentation removed)."""
    return (OFFICIAL / f"{name}.json").read_text(encoding="utf-8")


def manifest() -> dict[str, Any]:
    """Where each sample comes from (`yclientsru.apib:LINES` or a URL) and what it shows."""
    return json.loads((OFFICIAL / "manifest.json").read_text(encoding="utf-8"))


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def shape_problems(
    ours: Any, examples: list[Any], path: str = "", allowed_extra: Collection[str] = ()
) -> list[str]:
    """What keeps `ours` from having the shape of the example values `examples` (several when a list's
    items differ): every key an example has, a compatible JSON type for each (a `null` example says
    nothing about the type; `[]` stands for an empty object, as the description's examples send it), and
    no key the examples lack unless its path is in `allowed_extra` (paths like `data[].services[].cost`)."""
    candidates = [e for e in examples if e is not None]
    if not candidates or (ours is None and len(candidates) < len(examples)):
        return []
    kinds = {_kind(e) for e in candidates}
    kind = _kind(ours)
    if kind == "array" and ours == [] and "object" in kinds:
        return []
    if kind not in kinds:
        return [f"{path or '.'}: {kind} where the example has {' or '.join(sorted(kinds))}"]
    if kind == "object":
        shapes = [e for e in candidates if isinstance(e, dict)]
        problems = []
        wanted = {key for e in shapes for key in e}
        for key in sorted(wanted - ours.keys()):
            problems.append(f"{path}.{key}: missing")
        for key in ours:
            sub = f"{path}.{key}"
            if key in wanted:
                problems += shape_problems(
                    ours[key], [e[key] for e in shapes if key in e], sub, allowed_extra
                )
            elif sub.lstrip(".") not in allowed_extra:
                problems.append(f"{sub}: not in the example")
        return problems
    if kind == "array":
        items = [item for e in candidates if isinstance(e, list) for item in e]
        if not items:
            return []
        return [p for item in ours for p in shape_problems(item, items, f"{path}[]", allowed_extra)]
    return []
