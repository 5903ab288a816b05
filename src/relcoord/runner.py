"""Running one workflow step from a script: logging, and turning a
RelcoordError into a clear message in the terminal instead of a traceback.
(No Snakemake import: the scripts pass their own objects in.)"""

from __future__ import annotations

import logging
import sys
import traceback
from pathlib import Path
from collections.abc import Callable

from .errors import RelcoordError

log = logging.getLogger("relcoord")


def run_step(step: Callable[[], None], log_path: str | None, what: str) -> None:
    """Run ``step`` with logging to ``log_path``. A RelcoordError is written to
    the log and to the terminal as the plain message, then the job fails; any
    other exception is a bug: its traceback goes to the log."""
    terminal = sys.__stderr__
    if log_path:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        stream = open(log_path, "w", encoding="utf-8")
        sys.stderr = stream
    else:
        stream = sys.stderr
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    log.handlers[:] = [handler]
    log.setLevel(logging.INFO)
    try:
        step()
    except RelcoordError as err:
        msg = f"relcoord: {what} stopped.\n{err}\n"
        stream.write(msg)
        stream.flush()
        terminal.write("\n" + msg)
        terminal.flush()
        sys.exit(1)
    except Exception:
        stream.write(traceback.format_exc())
        stream.flush()
        terminal.write(f"\nrelcoord: {what} failed with an internal error (a bug, not your data): see {log_path}\n")
        sys.exit(1)


# --------------------------------------------------------------------------- rule params

def encode_values(values: dict) -> str:
    """A rule's settings as one params string: canonical JSON (sorted keys, ASCII)
    with ``<``, ``>`` and ``&`` written as JSON escapes, so that no text from
    the config (a round label, a title) can close the ``<script>`` element in
    which ``snakemake --report`` embeds rule params. Snakemake reruns a job when
    this string changes, i.e. when a value the rule uses changes."""
    import json

    text = json.dumps(values, sort_keys=True, ensure_ascii=True, separators=(",", ":"), default=str)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def decode_values(text: str) -> dict:
    """The values a rule's script was given (the inverse of :func:`encode_values`)."""
    import json

    return json.loads(text)


def settings_sha256(text: str) -> str:
    """The hash a report shows for the settings it was computed from: SHA-256
    of its rule's encoded values (:func:`encode_values`). provenance.json
    records the same hash for each report."""
    import hashlib

    return hashlib.sha256(text.encode("ascii")).hexdigest()


def say(message: str) -> None:
    """A line for the analyst's terminal (not only the job's log)."""
    sys.__stderr__.write(message.rstrip("\n") + "\n")
    sys.__stderr__.flush()


def config_hash(source) -> str:
    """SHA-256 of a config (a fingerprint only; nothing is read from it): of the
    file's bytes for a path, of its canonical JSON for a mapping."""
    import hashlib
    import json

    if isinstance(source, (str, Path)):
        return hashlib.sha256(Path(source).read_bytes()).hexdigest()
    return hashlib.sha256(json.dumps(source, sort_keys=True, default=str, ensure_ascii=False).encode()).hexdigest()
