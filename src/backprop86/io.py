"""Result files with the same bytes for the same content, and directories that vouch for themselves.

Every result directory ends with ``manifest.json``, written last: the size and
SHA-256 of every other file in it. :func:`verify_manifest` checks a directory
against it and names the first damaged file; a directory without a manifest
was never completely written.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import traceback
import zipfile
from pathlib import Path

import numpy as np

_EPOCH = (1980, 1, 1, 0, 0, 0)  # fixed zip timestamps: same arrays, same bytes


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write via a temporary file and rename, so an interrupted write leaves no half file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # never leave the half-written temporary behind
        raise


def save_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Like ``np.savez_compressed`` but byte-reproducible (fixed timestamps, sorted keys)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for key in sorted(arrays):
            member = io.BytesIO()
            np.lib.format.write_array(member, np.ascontiguousarray(arrays[key]), allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, member.getvalue())
    atomic_write_bytes(path, buf.getvalue())


def load_npz(path: Path) -> dict[str, np.ndarray]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"missing result file: {path}")
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


MANIFEST = "manifest.json"
# What to do about a damaged result directory.
REBUILD = "run snakemake again: it sets the directory aside and rebuilds it (or rerun `backprop86 train`)"


class DamagedResult(OSError):
    """A result directory whose files do not match its manifest (or that has none)."""


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_manifest(directory: Path) -> None:
    """Record the size and SHA-256 of every file in ``directory``; call it last."""
    directory = Path(directory)
    files = sorted(
        p for p in directory.iterdir() if p.is_file() and p.name != MANIFEST and not p.name.startswith(".")
    )
    body = {"files": {p.name: {"bytes": p.stat().st_size, "sha256": _sha256(p)} for p in files}}
    save_json(directory / MANIFEST, body)


def verify_manifest(directory: Path, remedy: str = REBUILD) -> None:
    """Raise :class:`DamagedResult` naming the first file of ``directory`` that is missing,
    of the wrong size or with the wrong hash; ``remedy`` says what to do about it."""
    directory = Path(directory)
    tail = f"; {remedy}" if remedy else ""
    if not directory.is_dir():
        raise DamagedResult(f"missing result directory {directory}{tail}")
    manifest = directory / MANIFEST
    try:
        files = json.loads(manifest.read_text())["files"]
        if not isinstance(files, dict) or not files:
            raise ValueError(files)
        for name, want in files.items():  # plain names in this directory, each with its size and hash
            if Path(name).name != name or name.startswith(".") or not isinstance(want, dict):
                raise ValueError(name)
            if not isinstance(want.get("bytes"), int) or not isinstance(want.get("sha256"), str):
                raise ValueError(want)
    except FileNotFoundError:
        raise DamagedResult(
            f"{manifest} is missing: {directory} was never completely written{tail}"
        ) from None
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise DamagedResult(f"{manifest} is damaged (not a manifest){tail}") from None
    # every file but the manifest and hidden ones (Snakemake's own timestamp) is listed
    extra = sorted(
        p.name
        for p in directory.iterdir()
        if p.name != MANIFEST and not p.name.startswith(".") and p.name not in files
    )
    if extra:
        raise DamagedResult(f"{directory / extra[0]} is not in {manifest}: not written with the rest{tail}")
    for name, want in sorted(files.items()):
        path = directory / name
        if not path.is_file():
            raise DamagedResult(f"{path} is missing (listed in {manifest}){tail}")
        size = path.stat().st_size
        if size != want["bytes"]:
            raise DamagedResult(f"{path} is damaged: {size} bytes, the manifest says {want['bytes']}{tail}")
        if _sha256(path) != want["sha256"]:
            raise DamagedResult(f"{path} is damaged: its SHA-256 differs from the manifest's{tail}")


def check_table(path: Path) -> None:
    """Raise :class:`DamagedResult` if the CSV ``path``, as :func:`save_csv` writes
    it (atomically: a header line, each row ending in a newline), is empty, has no
    header or is cut short mid-row."""
    path = Path(path)
    with path.open("rb") as fh:
        header = fh.readline()
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        if size:
            fh.seek(-1, os.SEEK_END)
        last = fh.read(1)
    if not size:
        raise DamagedResult(f"{path} is damaged: it is empty")
    if not header.strip() or not header.endswith(b"\n") or last != b"\n":
        raise DamagedResult(
            f"{path} is damaged: it is cut short (no header, or a last row without its newline)"
        )


def set_aside(directory: Path, aside: Path) -> Path:
    """Move ``directory`` (with every file in it), or a file, to ``aside``, or ``aside.1``, ... if taken."""
    dest, n = Path(aside), 1
    while dest.exists():
        dest, n = Path(f"{aside}.{n}"), n + 1
    dest.parent.mkdir(parents=True, exist_ok=True)
    os.replace(directory, dest)
    return dest


def save_json(path: Path, obj) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode())


def csv_bytes(frame) -> bytes:
    """A table as :func:`save_csv` writes it."""
    return frame.to_csv(index=False, lineterminator="\n").encode()


def save_csv(path: Path, frame) -> None:
    atomic_write_bytes(path, csv_bytes(frame))


@contextlib.contextmanager
def job_log(path: str | Path):
    """Send a workflow job's output, and the traceback of any error, to its log file."""
    with open(path, "w") as log, contextlib.redirect_stderr(log), contextlib.redirect_stdout(log):
        try:
            yield
        except BaseException:
            traceback.print_exc(file=log)
            raise
