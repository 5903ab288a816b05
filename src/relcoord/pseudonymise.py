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
import shlex
import stat
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import RelcoordError


#: Characters a key must have at least (RELCOORD_SECRET or the key file).
MIN_SECRET_CHARS = 16
#: A key file is one line of text; anything larger is not a key file.
MAX_KEY_FILE_BYTES = 64 * 1024
_NEW_KEY_WARNING = ("changing the key changes every pseudonym, so rounds pseudonymised with the old key can no "
                    "longer be linked")


def resolve_secret(env: str, file: str) -> tuple[bytes, str]:
    """Return (key, a plain sentence saying where it came from, for the log).

    The key is the environment variable ``env`` when set (at least 16 characters), else the key file:
    a regular, non-empty text file readable only by its owner (mode 600), of at least 16 characters.
    Without either, a new random key is written to the file, created with mode 600."""
    value = os.environ.get(env)
    if value:
        if len(value.strip()) < MIN_SECRET_CHARS:
            raise RelcoordError(
                f"the environment variable {env} holds a pseudonymisation key of {len(value.strip())} character(s); "
                f"a key needs at least {MIN_SECRET_CHARS} (a short key can be guessed, and with it every "
                "pseudonym linked back to its id)",
                hint=f"set {env} to a long random string, e.g. `export {env}=$(python3 -c 'import secrets; "
                     f"print(secrets.token_hex(32))')`, or unset it to use the key file {file}; {_NEW_KEY_WARNING}")
        return value.encode("utf-8"), f"environment variable {env}"
    path = Path(os.path.expanduser(file))
    if "results" in path.resolve().parts:
        raise RelcoordError(
            "the pseudonymisation key file must not live under results/",
            file=str(path),
            hint="set privacy.secret_file to a path outside the project, e.g. ~/.config/relcoord/secret",
        )
    if not path.exists() and not path.is_symlink():
        return _new_key(path)
    key = _read_key_file(path)
    return key.encode("utf-8"), f"key file {path}"


def _new_key(path: Path) -> tuple[bytes, str]:
    """A new random key in a file created with mode 600 (never readable by others, not even briefly)."""
    key = secrets.token_hex(32)
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(key + "\n")
    except OSError as exc:
        raise RelcoordError(
            f"cannot create the pseudonymisation key file: {exc.strerror or exc}",
            file=str(path),
            hint="set privacy.secret_file to a path you may write, or set the environment variable "
            "named by privacy.secret_env",
        ) from None
    return key.encode("ascii"), (
        f"no key was set, so a new random key was generated and saved in {path} (mode 600, readable only by you); "
        "keep that file as safe as the exports and back it up: later rounds need the same key to be linked"
    )


def _read_key_file(path: Path) -> str:
    file = str(path)
    try:
        st = os.stat(path)
    except OSError as exc:
        raise RelcoordError(
            f"cannot read the pseudonymisation key file: {exc.strerror or exc}",
            file=file,
            hint="check privacy.secret_file, or delete a broken link there",
        ) from None
    if not stat.S_ISREG(st.st_mode):
        what = "a folder" if stat.S_ISDIR(st.st_mode) else "not a regular file (a pipe, device or socket)"
        raise RelcoordError(
            f"privacy.secret_file names {what}, not a key file",
            file=file,
            hint="set privacy.secret_file to the key file itself (a one-line text file), e.g. "
            "~/.config/relcoord/secret; a missing file is generated on first use",
        )
    if os.name == "posix" and st.st_mode & 0o077:
        raise RelcoordError(
            "the pseudonymisation key file can be read or changed by other users "
            f"(mode {stat.S_IMODE(st.st_mode):03o}); "
            "whoever reads the key can link pseudonyms back to ids",
            file=file,
            hint=f"make it readable only by you: `chmod 600 {shlex.quote(file)}` (and check who copied it meanwhile)",
        )
    if st.st_size > MAX_KEY_FILE_BYTES:
        raise RelcoordError(
            f"the pseudonymisation key file is {st.st_size:,} bytes; a key file is one line of text",
            file=file,
            hint="check privacy.secret_file: it must name the key file, not another file",
        )
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise RelcoordError(
            f"cannot read the pseudonymisation key file: {exc.strerror or exc}",
            file=file,
            hint="check that you own the file and may read it",
        ) from None
    try:
        key = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        key = None
    if key is None or any((ord(c) < 32 and c not in "\t\n\r") or c == "\x7f" for c in key):
        raise RelcoordError(
            "the pseudonymisation key file is not text (it holds binary data)",
            file=file,
            hint="check privacy.secret_file: it must name the key file (one line of text), not another file",
        )
    if not key:
        raise RelcoordError(
            "the pseudonymisation key file is empty",
            file=file,
            hint="restore the key from a backup; or, for a first round only, delete the empty file "
            f"to have a new key generated ({_NEW_KEY_WARNING})",
        )
    if len(key) < MIN_SECRET_CHARS:
        raise RelcoordError(
            f"the pseudonymisation key is shorter than {MIN_SECRET_CHARS} characters",
            file=file,
            hint=f"put a long random string in the file (or delete it to have one generated; {_NEW_KEY_WARNING})",
        )
    return key


def pseudonymise(ids: pd.Series, key: bytes, length: int = 16) -> pd.Series:
    """HMAC-SHA256(key, id) as a hex string of ``length`` characters; "" stays "".
    Computed once per distinct id."""
    uniq, inverse = np.unique(ids.astype(str).to_numpy(), return_inverse=True)
    mapped = np.array(
        [hmac.new(key, u.encode("utf-8"), hashlib.sha256).hexdigest()[:length] if u else "" for u in uniq], dtype=object
    )
    return pd.Series(mapped[inverse], index=ids.index, name=ids.name)
