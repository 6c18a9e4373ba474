"""Content hashes of files and folders, for the fingerprints that let work be skipped when nothing it reads
changed (the dbt manifest, the seeds, a whole build's inputs)."""

from __future__ import annotations

from pathlib import Path


def update_with_files(digest, top: Path, pattern: str = "*", *, relative_to: Path | None = None) -> None:
    """Feed `digest` each file's path (relative to `relative_to` when given, so the hash does not depend on where
    the project is checked out) and bytes: `top` itself if it is a file, else its files matching `pattern` at any
    depth, in sorted order. A missing `top` adds nothing."""
    paths = [top] if top.is_file() else sorted(top.rglob(pattern)) if top.is_dir() else []
    for path in paths:
        if path.is_file():
            digest.update((path.relative_to(relative_to) if relative_to else path).as_posix().encode())
            digest.update(path.read_bytes())
