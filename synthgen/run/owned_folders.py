"""Folders synthgen writes into carry its mark; it never deletes or overwrites anything else.

A run folder, a `publish --dry-run` folder and an `export --out` folder each get a small
marker file, `.synthgen`, the moment synthgen creates them (or takes an empty folder),
before anything else is written. Every command that replaces or deletes files in such a
folder (`run --overwrite`, a fresh run, `filter`, `mine`, `merge`, a second `publish` or
`export` into the same folder) checks the marker first, and the marker must name the same
kind of folder. A folder that holds files but no marker is refused in one line and left
untouched: an existing `--out` that happens to hold a `data/` or a `manifest.json` is the
user's, not ours.

Folders of a synthgen before markers are recognized by what only synthgen writes there: a
run's `state.json` (its checkpoint, with its fingerprint), a publish folder's
`synthgen_manifest.json`; they are marked when first touched again.
"""

from __future__ import annotations

from pathlib import Path

import orjson

from synthgen.errors import UserError

MARKER = ".synthgen"
KINDS = ("run", "publish", "export")


def folder_kind(folder: Path) -> str | None:
    """The kind synthgen marked `folder` with, "run" for a marker-less run of an older
    synthgen, or None: not synthgen's (or not there)."""
    marker = folder / MARKER
    if marker.is_file():
        try:
            return str(orjson.loads(marker.read_bytes())["kind"])
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return None
    if _legacy_run(folder):
        return "run"
    return "publish" if (folder / "synthgen_manifest.json").is_file() else None


def claim_folder(folder: Path, kind: str, option: str) -> None:
    """Make `folder` synthgen's `kind` folder: create it, take it if empty, or accept it if
    already marked so; else stop with one line naming `option` (e.g. "--out") and the fix."""
    assert kind in KINDS, kind
    if folder.exists() and not folder.is_dir():
        raise UserError(f"{option} {folder}: is a file; give a folder")
    found = folder_kind(folder) if folder.is_dir() else None
    if found is None and folder.is_dir() and any(folder.iterdir()):
        raise UserError(f"{option} {folder}: the folder holds files synthgen did not write (no {MARKER} marker); "
                        "synthgen never writes into or deletes such a folder: choose a new or empty folder")
    if found is not None and found != kind:
        raise UserError(f"{option} {folder}: the folder holds a synthgen {found} folder, not a {kind} folder: "
                        "choose another folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if not (folder / MARKER).is_file():
            (folder / MARKER).write_bytes(orjson.dumps({"kind": kind, "written_by": "synthgen"}))
    except OSError as exc:
        raise UserError(f"cannot create output folder {folder} ({option}): {exc.strerror}") from None


def require_owned(folder: Path, kind: str, what: str) -> None:
    """Stop unless `folder` is synthgen's `kind` folder (before changing files in it)."""
    if folder_kind(folder) != kind:
        raise UserError(f"{what} {folder}: not a folder synthgen wrote as a {kind} (no {MARKER} marker), "
                        "so nothing in it is changed")


def _legacy_run(folder: Path) -> bool:
    state = folder / "state.json"
    if not state.is_file():
        return False
    try:
        return "recipe" in orjson.loads(state.read_bytes())["fingerprint"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return False
