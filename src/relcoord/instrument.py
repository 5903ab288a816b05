"""The survey instrument: items, subscales and the export code -> score maps."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .errors import RelcoordError
from .labels import alias_problems
from .schema import read_yaml, validate

RC_ITEMS = ("frequent", "timely", "accurate", "problem_solving",
            "shared_goals", "shared_knowledge", "mutual_respect")


@dataclass(frozen=True)
class Item:
    key: str
    codes: dict[int, float]
    missing_codes: tuple[int, ...] = ()
    dimension: str = ""
    subscale: str | None = None
    in_index: bool = True
    labels: dict[str, str] = field(default_factory=dict)
    question: dict[str, str] = field(default_factory=dict)
    options: dict[str, list[str]] = field(default_factory=dict)
    # other wordings of an option in exports: score (or "missing") -> texts (see relcoord.labels)
    aliases: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def label(self, lang: str) -> str:
        return self.labels.get(lang) or self.labels.get("en") or self.key


@dataclass(frozen=True)
class Instrument:
    items: tuple[Item, ...]
    scale_min: int = 1
    scale_max: int = 5
    missing_labels: tuple[str, ...] = ()
    source: str = ""     # the file it was read from (for messages)

    @property
    def keys(self) -> list[str]:
        return [i.key for i in self.items]

    @property
    def index_keys(self) -> list[str]:
        """Items that enter the RC index (the seven RC items by default)."""
        return [i.key for i in self.items if i.in_index]

    def subscale_keys(self, subscale: str) -> list[str]:
        return [i.key for i in self.items if i.subscale == subscale and i.in_index]

    def item(self, key: str) -> Item:
        for i in self.items:
            if i.key == key:
                return i
        raise KeyError(key)

    @property
    def n_options(self) -> int:
        return self.scale_max - self.scale_min + 1


def instrument_from_dict(data: dict, source: str = "instrument") -> Instrument:
    for it in data.get("items") or []:
        if isinstance(it, dict) and isinstance(it.get("codes"), dict):  # YAML gives int keys
            it["codes"] = {str(k): v for k, v in it["codes"].items()}
        if isinstance(it, dict) and isinstance(it.get("aliases"), dict):
            it["aliases"] = {str(k): [v] if isinstance(v, str) else v for k, v in it["aliases"].items()}
    data = validate(data, "instrument.schema.yaml", source)
    glob_missing = tuple(int(c) for c in data.get("missing_codes", []))
    items = []
    for it in data["items"]:
        items.append(Item(
            key=it["key"],
            codes={int(k): float(v) for k, v in it["codes"].items()},
            missing_codes=tuple(sorted(set(glob_missing) | {int(c) for c in it.get("missing_codes", [])})),
            dimension=it.get("dimension", it["key"]),
            subscale=it.get("subscale"),
            in_index=it.get("in_index", True),
            labels=dict(it.get("labels", {})),
            question=dict(it.get("question", {})),
            options={k: list(v) for k, v in it.get("options", {}).items()},
            aliases={str(k).strip().lower(): tuple(str(t) for t in v) for k, v in it.get("aliases", {}).items()},
        ))
    keys = [i.key for i in items]
    if len(set(keys)) != len(keys):
        dup = sorted({k for k in keys if keys.count(k) > 1})
        raise RelcoordError(f"item key(s) {dup} declared twice", file=source, hint="give every item a unique key")
    scale = data.get("scale", {"min": 1, "max": 5})
    inst = Instrument(items=tuple(items), scale_min=scale.get("min", 1), scale_max=scale.get("max", 5),
                      missing_labels=tuple(data.get("missing_labels", [])), source=str(source))
    problems = [p for i in inst.items for p in alias_problems(i, inst)]
    if problems:
        raise RelcoordError("the instrument's answer texts are ambiguous:\n  - " + "\n  - ".join(problems),
                            file=source, hint="an option, alias or missing label may stand for one answer of an "
                                              "item only; remove or correct the `aliases` (or option) named")
    return inst


def load_instrument(path: str | Path) -> Instrument:
    return instrument_from_dict(read_yaml(path) or {}, str(path))


def default_instrument() -> Instrument:
    """The seven RC items scored 1..5 with identity codes (for tests and simulation)."""
    sub = {"frequent": "communication", "timely": "communication", "accurate": "communication",
           "problem_solving": "communication", "shared_goals": "relationship",
           "shared_knowledge": "relationship", "mutual_respect": "relationship"}
    return Instrument(items=tuple(
        Item(key=k, codes={c: float(c) for c in range(1, 6)}, missing_codes=(6, 8, 9), subscale=sub[k],
             labels={"en": k.replace("_", " ").capitalize(), "da": k}) for k in RC_ITEMS))
