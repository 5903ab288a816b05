"""The README and the docs link only inside the repository.

For README.md, config/README.md and every docs/*.md: every Markdown link
target that is not an in-page anchor and not an http(s)/mailto URL names a
file or folder that exists in the repository (relative to the Markdown file,
``#anchor`` stripped), and a ``#anchor`` into a Markdown file names one of its
headings; no text mentions the design documents that live outside the
repository. README.md and docs/*.md link nothing outside the repository at
all: no ``http://`` or ``https://`` anywhere in them.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted((ROOT / "docs").glob("*.md"))
LINKED = [ROOT / "README.md", ROOT / "config" / "README.md", *DOCS]
NO_WEB = [ROOT / "README.md", *DOCS]

FORBIDDEN = ("../shared", "DOMAIN.md", "DESIGN.md")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,}).*?^ {0,3}\1[^\n]*$", re.M | re.S)
_CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1", re.S)
# [text](target) and ![alt](target); target optionally in <...>, optionally followed by a "title"
_INLINE = re.compile(r"\]\(\s*(<[^>\n]*>|[^)\s]*)(?:\s+(?:\"[^\"]*\"|'[^']*'|\([^)]*\)))?\s*\)")
# reference definitions: [label]: target
_REFDEF = re.compile(r"^ {0,3}\[[^\]\n]+\]:\s*(<[^>\n]*>|\S+)", re.M)
_HEADING = re.compile(r"^ {0,3}#{1,6}\s+(.+?)\s*#*\s*$", re.M)
_HTML_ID = re.compile(r"<a\s[^>]*(?:id|name)\s*=\s*[\"']([^\"']+)[\"']", re.I)


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _prose(text: str) -> str:
    """The text without fenced code blocks and code spans (their brackets are not links)."""
    return _CODE_SPAN.sub("", _FENCE.sub("", text))


def link_targets(text: str) -> list[str]:
    """Every link target of a Markdown text (inline links, images, reference definitions)."""
    prose = _prose(text)
    found = _INLINE.findall(prose) + _REFDEF.findall(prose)
    return [t[1:-1].strip() if t.startswith("<") else t for t in found]


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: its text, lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)   # links and images: their text
    text = re.sub(r"<[^>]+>", "", text).replace("`", "")
    text = unicodedata.normalize("NFC", text).strip().lower()
    text = "".join(ch for ch in text if ch.isalnum() or ch in " -_")
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """The anchors a Markdown file defines: heading slugs (duplicates numbered) and HTML ids."""
    text = path.read_text(encoding="utf-8")
    seen: dict[str, int] = {}
    out = set()
    for heading in _HEADING.findall(_FENCE.sub("", text)):
        slug = _slug(heading)
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else f"{slug}-{n}")
    return out | set(_HTML_ID.findall(text))


def _is_external(target: str) -> bool:
    return re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I) is not None


def test_files_exist():
    assert DOCS, "docs/*.md missing"
    assert (ROOT / "docs" / "methods.md") in DOCS
    for path in LINKED:
        assert path.is_file(), _rel(path)


def test_link_parser():
    text = ("See [a](x.md#b), ![i](img/p.png \"t\"), [c](<d e.md>), [web](https://x.org), "
            "`[not](code.md)`\n\n```\n[no](fenced.md)\n```\n[ref]: ../y.md\n")
    assert link_targets(text) == ["x.md#b", "img/p.png", "d e.md", "https://x.org", "../y.md"]
    assert _slug("What validation does") == "what-validation-does"
    assert _slug("`config.yaml` keys") == "configyaml-keys"
    assert _slug("5. Privacy (`privacy.py`, `disclosure.py`)") == "5-privacy-privacypy-disclosurepy"


@pytest.mark.parametrize("path", LINKED, ids=_rel)
def test_local_links_resolve_inside_the_repository(path: Path):
    problems = []
    for target in link_targets(path.read_text(encoding="utf-8")):
        if not target or target.startswith("#") or _is_external(target):
            continue
        file_part, _, anchor = target.partition("#")
        resolved = (path.parent / unquote(file_part)).resolve()
        if not resolved.is_relative_to(ROOT):
            problems.append(f"{target}: outside the repository")
        elif not resolved.exists():
            problems.append(f"{target}: no such file")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            problems.append(f"{target}: no heading #{anchor} in {_rel(resolved)}")
    assert not problems, f"{_rel(path)}:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("path", LINKED, ids=_rel)
def test_in_page_anchors_resolve(path: Path):
    own = anchors(path)
    bad = [t for t in link_targets(path.read_text(encoding="utf-8")) if t.startswith("#") and t[1:] not in own]
    assert not bad, f"{_rel(path)}: no heading for {bad}"


@pytest.mark.parametrize("path", LINKED, ids=_rel)
def test_no_mention_of_documents_outside_the_repository(path: Path):
    text = path.read_text(encoding="utf-8")
    found = [(n, word) for n, line in enumerate(text.splitlines(), 1) for word in FORBIDDEN if word in line]
    assert not found, f"{_rel(path)} mentions {found}"


@pytest.mark.parametrize("path", NO_WEB, ids=_rel)
def test_no_web_links(path: Path):
    found = [(n, line.strip()) for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if re.search(r"https?://", line, re.I)]
    assert not found, f"{_rel(path)} links outside the repository: {found}"
