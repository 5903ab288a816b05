"""JSON-schema validation of YAML config, with defaults filled in.

The schemas ship inside the package (``relcoord/schemas/``, package data), and
the workflow's Snakemake ``validate`` reads the same files
(``SCHEMA_DIR``), so the CLI and the workflow check config identically.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import yaml

from .errors import RelcoordError
from .readers._limits import check_regular_file

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"


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
                            hint="the installation is incomplete: reinstall relcoord (pip install .)")
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
                            hint="fix the key(s) above; the allowed keys and values are documented in "
                                 f"config/README.md and {SCHEMA_DIR / schema_name}")
    return data


#: A YAML file (config, codebook, instrument; real ones are a few kB).
MAX_YAML_BYTES = 10 * 1024 ** 2
#: Nodes that YAML aliases (``*name``) may add by repeating anchored ones (``&name``): the limesurvey
#: codebook's ``targets: *units`` adds a few hundred; a "billion laughs" bomb adds billions.
MAX_YAML_ALIAS_NODES = 100_000


def _expanded_size(root: yaml.Node, file: str) -> tuple[int, int]:
    """(nodes in the document with every alias written out, distinct nodes), counted without writing
    anything out (each distinct node once, children first); stops on an alias that contains itself."""
    size: dict[int, int] = {}
    open_: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]

    def children(node: yaml.Node) -> list[yaml.Node]:
        if isinstance(node, yaml.SequenceNode):
            return node.value
        if isinstance(node, yaml.MappingNode):
            return [n for pair in node.value for n in pair]
        return []

    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            size[key] = 1 + sum(size[id(c)] for c in children(node))
            open_.discard(key)
            continue
        if key in size:
            continue
        if key in open_:
            raise RelcoordError("a YAML alias (*name) refers to the anchor (&name) that contains it, so the "
                                "document never ends", file=file, row=node.start_mark.line + 1,
                                hint="write the values out instead of referring to the enclosing block")
        open_.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in children(node) if id(c) not in size)
    return size[id(root)], len(size)


def _load_yaml(text: str, file: str) -> Any:
    """``yaml.safe_load`` with the expansion of aliases bounded: the document is composed (every alias
    is one shared node, so composing is cheap), its written-out size counted, and only then built."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        expanded, distinct = _expanded_size(node, file)
        if expanded - distinct > MAX_YAML_ALIAS_NODES:
            raise RelcoordError(
                f"the YAML aliases (*name) in this file repeat {expanded - distinct:,} values when written out "
                f"(more than {MAX_YAML_ALIAS_NODES:,}): a 'billion laughs' file, which would take all memory",
                file=file, hint="write the values out, or use fewer aliases; a real config or codebook needs a "
                                "few hundred at most")
        return loader.construct_document(node)
    finally:
        loader.dispose()


def read_yaml(path: str | Path) -> Any:
    """Read a YAML file (config, codebook, instrument) safely: a regular file of at most
    ``MAX_YAML_BYTES``, UTF-8, plain data only (``yaml.safe_load``), with aliases bounded
    (``MAX_YAML_ALIAS_NODES``) and nesting bounded by Python's recursion limit."""
    path = Path(path)
    if not path.exists():
        raise RelcoordError("file not found", file=str(path), hint="check the path in config/config.yaml")
    check_regular_file(path, "point the path at the YAML file itself", limit=MAX_YAML_BYTES)
    try:
        return _load_yaml(path.read_text(encoding="utf-8"), str(path))
    except UnicodeDecodeError as exc:
        raise RelcoordError(f"not UTF-8 text (byte offset {exc.start})", file=str(path),
                            hint="save the file as UTF-8") from None
    except RecursionError:
        raise RelcoordError("the YAML is nested too deeply to read", file=str(path),
                            hint="a config or codebook needs a few levels of nesting; check the file") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise RelcoordError(f"not valid YAML: {getattr(exc, 'problem', exc)}", file=str(path),
                            row=(mark.line + 1) if mark else None,
                            hint="fix the YAML syntax (indentation, colons, quotes)") from None
