"""Running one workflow step from a script: logging, and turning a
RelcoordError into a clear message in the terminal instead of a traceback.
(No Snakemake import: the scripts pass their own objects in.)"""

from __future__ import annotations

import logging
import sys
import traceback
from pathlib import Path
from typing import Callable

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
