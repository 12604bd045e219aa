"""Upload files on disk: generated names, private and never executable, sweeping leftovers."""

from __future__ import annotations

from pathlib import Path

from web.media_files import MediaFiles


def test_write_commit_remove_and_sweep(tmp_path: Path) -> None:
    files = MediaFiles(tmp_path / "media")
    files.prepare()
    name = files.write(b"data", "png")
    assert MediaFiles.valid_name(name) and name.endswith(".png")
    path = files.path(name)
    assert path is not None and path.read_bytes() == b"data"
    assert path.stat().st_mode & 0o777 == 0o600  # the server's user only, never executable
    assert files.write(b"data", "png") != name
    for bad in ("../x.png", "a.png", "x" * 22 + ".html", "x" * 22 + ".png/..", ""):
        assert not MediaFiles.valid_name(bad)
        assert files.path(bad) is None
    part = files.new_part()
    orphan = files.root / ("Z" * 22 + ".webm")
    orphan.write_bytes(b"x")
    other = files.root / "README"
    other.write_text("not ours")
    assert files.sweep(keep={name}) == 3  # the part, the orphan, the second write
    assert not part.exists() and not orphan.exists() and other.exists()
    files.remove([name, "../../etc/passwd"])
    assert files.path(name) is None
