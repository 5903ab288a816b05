"""Keyed pseudonymisation of respondent ids (HMAC-SHA256).

The key comes from an environment variable or a file outside the repository
and outside results/; without either, a per-installation key is generated in
the file. The same key gives the same pseudonym in every round, so a stable
panel key can link rounds without the raw id ever reaching results/.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import RelcoordError


def resolve_secret(env: str = "RELCOORD_SECRET", file: str = "~/.config/relcoord/secret") -> tuple[bytes, str]:
    """Return (key, where it came from). Creates the key file when neither exists."""
    value = os.environ.get(env)
    if value:
        return value.encode("utf-8"), f"environment variable {env}"
    path = Path(os.path.expanduser(file))
    if "results" in path.resolve().parts:
        raise RelcoordError("the pseudonymisation key file must not live under results/", file=str(path),
                            hint="set privacy.secret_file to a path outside the project, e.g. ~/.config/relcoord/secret")
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32) + "\n", encoding="ascii")
        path.chmod(0o600)
        return path.read_text().strip().encode(), f"new key generated in {path}"
    key = path.read_text(encoding="utf-8").strip()
    if len(key) < 16:
        raise RelcoordError("the pseudonymisation key is shorter than 16 characters", file=str(path),
                            hint="put a long random string in the file (or delete it to have one generated)")
    return key.encode("utf-8"), f"key file {path}"


def pseudonymise(ids: pd.Series, key: bytes, length: int = 16) -> pd.Series:
    """HMAC-SHA256(key, id) as a hex string of ``length`` characters; "" stays "".
    Computed once per distinct id."""
    uniq, inverse = np.unique(ids.astype(str).to_numpy(), return_inverse=True)
    mapped = np.array([hmac.new(key, u.encode("utf-8"), hashlib.sha256).hexdigest()[:length] if u else ""
                       for u in uniq], dtype=object)
    return pd.Series(mapped[inverse], index=ids.index, name=ids.name)
