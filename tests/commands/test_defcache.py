"""The definition cache: a folder that loaded is found again by content, never by trust.

A command reads its definitions from the cache only when every file is byte for byte what
loaded before, and only from an entry that nobody else could have written; an edited file is
read and checked again with the same messages; a broken cache never breaks a command.
"""

from __future__ import annotations

import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fulfil.engine.commands import cache as defcache
from fulfil.engine.definition.loader import definition_files, load_directory
from fulfil.engine.errors import DefinitionError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    made = tmp_path / "processes"
    shutil.copytree(ROOT / "processes", made)
    return made


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    where = tmp_path / "cache"
    monkeypatch.setenv("FULFIL_CACHE_DIR", str(where))
    monkeypatch.delenv("FULFIL_CACHE", raising=False)
    return where


def entry_of(folder: Path, cache: Path) -> Path:
    people = folder / "people.yaml"
    return cache / f"definitions-{defcache._key(definition_files(folder), people)}.pickle"


def test_a_loaded_folder_is_kept_and_found_again(folder: Path, cache: Path) -> None:
    """The second load reads the entry the first one wrote, and it holds the same processes."""
    catalog, people = defcache.load_definitions(folder, folder / "people.yaml")
    entry = entry_of(folder, cache)
    assert entry.is_file() and oct(entry.stat().st_mode & 0o777) == "0o600"
    again, people_again = defcache.load_definitions(folder, folder / "people.yaml")
    assert again is not catalog  # read back from the entry, not the same objects
    assert again.processes == catalog.processes and again.warnings == catalog.warnings
    assert people_again is not None and people is not None
    assert people_again.people == people.people


def test_an_edited_file_is_checked_again_with_the_same_errors(folder: Path, cache: Path) -> None:
    """Breaking a file after it was cached gives exactly the errors of an uncached load."""
    defcache.load_definitions(folder, None)
    path = folder / "retention.yaml"
    path.write_text(path.read_text("utf-8").replace("dest: ", "dest: nowhere_", 1), "utf-8")
    with pytest.raises(DefinitionError) as cached:
        defcache.load_definitions(folder, None)
    with pytest.raises(DefinitionError) as direct:
        load_directory(folder)
    assert [str(p) for p in cached.value.problems] == [str(p) for p in direct.value.problems]
    assert "nowhere_" in str(cached.value.problems[0])
    assert len(list(cache.glob("definitions-*"))) == 1  # errors are never kept


def plant(entry: Path, value: object, mode: int) -> None:
    entry.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    entry.write_bytes(pickle.dumps(value))
    entry.chmod(mode)


def test_only_a_private_entry_is_read(folder: Path, cache: Path) -> None:
    """An entry others could write is ignored and rebuilt; a private one is believed."""
    real, _ = defcache.load_definitions(folder, None)
    entry = entry_of(folder, cache).with_name(
        f"definitions-{defcache._key(definition_files(folder), None)}.pickle"
    )
    planted = type(real)(real.processes[:1])  # a catalog of one process
    plant(entry, (planted, None), 0o600)
    assert len(defcache.load_definitions(folder, None)[0]) == 1  # believed: it is private
    plant(entry, (planted, None), 0o666)
    assert len(defcache.load_definitions(folder, None)[0]) == len(real)  # ignored, rebuilt
    entry.chmod(0o600)
    cache.chmod(0o777)
    assert len(defcache.load_definitions(folder, None)[0]) == len(real)  # the folder is open
    cache.chmod(0o700)


def test_a_damaged_or_foreign_entry_is_rebuilt(folder: Path, cache: Path) -> None:
    """Truncated bytes or a pickle of something else never reach the engine."""
    real, _ = defcache.load_definitions(folder, None)
    entry = cache / f"definitions-{defcache._key(definition_files(folder), None)}.pickle"
    entry.write_bytes(entry.read_bytes()[:100])
    assert len(defcache.load_definitions(folder, None)[0]) == len(real)
    plant(entry, ("not", "a catalog"), 0o600)
    assert len(defcache.load_definitions(folder, None)[0]) == len(real)


def test_the_cache_can_be_turned_off_and_an_unusable_one_is_skipped(
    folder: Path, cache: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """FULFIL_CACHE=off writes nothing; a cache folder that cannot be made costs nothing."""
    monkeypatch.setenv("FULFIL_CACHE", "off")
    assert len(defcache.load_definitions(folder, None)[0]) > 0
    assert not cache.exists()
    monkeypatch.delenv("FULFIL_CACHE")
    blocker = tmp_path / "a-file"
    blocker.write_text("", "utf-8")
    monkeypatch.setenv("FULFIL_CACHE_DIR", str(blocker / "cache"))
    assert len(defcache.load_definitions(folder, None)[0]) > 0


def test_old_entries_are_pruned(tmp_path: Path, cache: Path) -> None:
    """Each edit makes a new entry; only the KEEP most recent stay. (A folder of one small
    process: pruning does not depend on what the entries hold, and each edit is a full load.)"""
    small = tmp_path / "small"
    small.mkdir()
    path = small / "order.yaml"
    text = (ROOT / "tests" / "processes" / "orders" / "order.yaml").read_text("utf-8")
    written = []
    for n in range(defcache.KEEP + 3):
        path.write_text(text + f"\n# edit {n}\n", "utf-8")
        defcache.load_definitions(small, None)
        written.append(f"definitions-{defcache._key([path], None)}.pickle")
    kept = {entry.name for entry in cache.glob("definitions-*.pickle")}
    assert len(kept) == defcache.KEEP and written[-1] in kept
    assert not kept & set(written[:3])  # the oldest went
    assert not list(cache.glob(".tmp-*"))


def test_a_cached_command_imports_no_checker(folder: Path, cache: Path) -> None:
    """With its definitions cached, `fulfil show` loads neither networkx nor jsonschema, nor
    the SMTP client nor asyncio; with the cache off it checks every definition as before."""
    env = {**os.environ, "FULFIL_CACHE_DIR": str(cache), "FULFIL_NOW": "2026-03-02T09:00:00Z"}
    env.pop("FULFIL_CACHE", None)
    db = f"sqlite:///{folder.parent / 'f.db'}"
    start = [sys.executable, "-m", "fulfil.cli", "--db", db, "--processes", str(folder)]
    data = '{"client": "Acme", "client_email": "a@acme.example", "fr_number": "FR-1"}'
    made = subprocess.run(
        [*start, "start", "facebook_access", "--as", "alex", "--data", data],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    instance = made.stdout.split()[-1]
    probe = (
        "import sys\nfrom fulfil.cli import main\n"
        f"sys.argv = ['fulfil', '--db', {db!r}, '--processes', {str(folder)!r}, 'show', "
        f"{instance!r}]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = ['networkx', 'jsonschema', 'smtplib', 'asyncio']\n"
        "print('loaded:', [m for m in heavy if m in sys.modules])\n"
    )
    warm = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True)
    assert "loaded: []" in warm.stdout, warm.stdout + warm.stderr
    assert "facebook_access" in warm.stdout
    cold = subprocess.run(
        [sys.executable, "-c", probe],
        env={**env, "FULFIL_CACHE": "off"},
        capture_output=True,
        text=True,
    )
    assert "'networkx'" in cold.stdout and "'jsonschema'" in cold.stdout


def test_without_a_home_folder_there_is_no_cache(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No FULFIL_CACHE_DIR, no XDG_CACHE_HOME and no home folder: the command loads as ever."""
    for name in ("FULFIL_CACHE_DIR", "XDG_CACHE_HOME", "HOME", "FULFIL_CACHE"):
        monkeypatch.delenv(name, raising=False)

    def homeless() -> Path:
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.setattr(Path, "home", staticmethod(homeless))
    assert defcache.cache_folder() is None
    assert len(defcache.load_definitions(folder, None)[0]) > 0
