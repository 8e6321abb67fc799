"""JSON schemas of the files users hand the command line (case files, results files), derived from the
dataclasses they hold, so a field added to `Case` or `results.Record` is covered without editing here.

`check(instance, schema, what)` raises one `ValueError` line naming the file, the item and the field:
`case file cases.json: item 0, field hidden_size: '4' is not of type 'integer'`. Type errors are
reported before missing fields, so the line names the field that is wrong.
"""

from __future__ import annotations

import dataclasses

import jsonschema

# Annotation (as written, under `from __future__ import annotations`) -> JSON Schema type.
_TYPES = {"str": "string", "int": "integer", "float": "number", "bool": "boolean", "dict": "object",
          "list": "array", "tuple": "array", "None": "null", "OptimizationProfile": "object"}


def dataclass_schema(cls, *, required=(), items=None) -> dict:
    """An object schema with one property per field of `cls`, typed from its annotation; no other keys.

    `items` gives the item schema of array fields by name (e.g. `{"batch_dims": {"type": "integer"}}`).
    """
    properties = {}
    for field in dataclasses.fields(cls):
        annotation = field.type if isinstance(field.type, str) else getattr(field.type, "__name__", "")
        names = [part.strip().split("[")[0] for part in annotation.split("|")]
        types = sorted({_TYPES[name] for name in names if name in _TYPES})
        prop = {"type": types[0] if len(types) == 1 else types} if types else {}
        if items and field.name in items:
            prop["items"] = items[field.name]
        properties[field.name] = prop
    return {"type": "object", "properties": properties, "required": list(required), "additionalProperties": False}


def check(instance, schema: dict, what: str) -> None:
    """Raise a one-line ValueError for the first place `instance` breaks `schema`; `what` names the file."""
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(instance),
                    key=lambda e: (e.validator == "required", [str(p) for p in e.absolute_path]))
    if not errors:
        return
    more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    raise ValueError(f"{what}: {where(errors[0].absolute_path)}{_message(errors[0])}{more}")


def where(path) -> str:
    """Where in the file: [0, 'hidden_size'] -> 'item 0, field hidden_size: ',
    ['records', 3, 'max_abs'] -> 'field records[3], field max_abs: '."""
    parts = []
    for p in path:
        if isinstance(p, int) and parts and parts[-1].startswith("field "):
            parts[-1] = f"{parts[-1]}[{p}]"
        else:
            parts.append(f"field {p}" if isinstance(p, str) else f"item {p}")
    return ", ".join(parts) + ": " if parts else ""


def _message(error) -> str:
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        return f"{error.message}; allowed: {', '.join(allowed)}"
    message = error.message
    return message if len(message) <= 200 else message[:200] + "..."
