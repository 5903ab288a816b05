"""JSON-schema validation of YAML config, with defaults filled in.

The schemas live in ``workflow/schemas/`` (the same files Snakemake's
``validate`` reads), so the CLI and the workflow check config identically.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import yaml

from .errors import RelcoordError

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "workflow" / "schemas"


def _with_defaults(validator_class):
    set_props = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for name, sub in properties.items():
                if isinstance(sub, dict) and "default" in sub and name not in instance:
                    instance[name] = sub["default"]
        yield from set_props(validator, properties, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


_Validator = _with_defaults(jsonschema.Draft202012Validator)


def load_schema(name: str) -> dict:
    path = SCHEMA_DIR / name
    if not path.exists():
        raise RelcoordError(f"schema {name} not found in {SCHEMA_DIR}",
                            hint="run relcoord from a checkout of the workflow (pip install -e .)")
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def describe_error(err: jsonschema.ValidationError) -> str:
    """One line naming the key path and what was expected."""
    path = "/".join(str(p) for p in err.absolute_path) or "(top level)"
    if err.validator == "additionalProperties":
        extra = sorted(set(err.instance) - set(err.schema.get("properties", {})))
        pats = err.schema.get("patternProperties")
        allowed = sorted(err.schema.get("properties", {}))
        msg = f"unknown key(s) {', '.join(map(repr, extra))} under {path}"
        if allowed:
            msg += f"; allowed keys: {', '.join(allowed)}"
        elif pats:
            msg += f"; keys must match {', '.join(pats)}"
        return msg
    return f"{path}: {err.message}"


def validate(data: Any, schema_name: str, source: str) -> Any:
    """Validate ``data`` (in place: defaults are filled) or raise RelcoordError
    listing every problem with its key path."""
    schema = load_schema(schema_name)
    errors = sorted(_Validator(schema).iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        lines = "\n  - ".join(describe_error(e) for e in errors)
        raise RelcoordError(f"invalid configuration:\n  - {lines}", file=source,
                            hint=f"fix the key(s) above; the allowed keys and values are documented in config/README.md and {SCHEMA_DIR / schema_name}")
    return data


def read_yaml(path: str | Path) -> Any:
    path = Path(path)
    if not path.exists():
        raise RelcoordError("file not found", file=str(path), hint="check the path in config/config.yaml")
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise RelcoordError(f"not valid YAML: {getattr(exc, 'problem', exc)}", file=str(path),
                            row=(mark.line + 1) if mark else None,
                            hint="fix the YAML syntax (indentation, colons, quotes)") from None
