"""Where the Cog directory comes from: hostile sources, refs and subdirectories are refused
before anything is cloned or tested (they may come from an event)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tasks.core.errors import UsageError
from tasks.core.source import check_allowed, checkout


@pytest.fixture
def repo(tmp_path) -> Path:
    folder = tmp_path / "repo"
    (folder / "models" / "hello").mkdir(parents=True)
    (folder / "models" / "hello" / "cog.yaml").write_text("predict: p.py:P\n")

    def git(*args: str) -> None:
        subprocess.run(
            ["git", "-C", str(folder), "-c", "user.email=t@e", "-c", "user.name=t", *args],
            check=True,
            capture_output=True,
        )

    git("init", "-q", "-b", "main")
    git("add", "-A")
    git("commit", "-q", "-m", "x")
    return folder


def test_a_clone_at_a_ref_into_a_subdirectory_works(repo):
    with checkout(repo.as_uri(), "main", "models/hello") as cog_dir:
        assert (Path(cog_dir) / "cog.yaml").is_file()
    assert not Path(cog_dir).exists()  # the clone is deleted afterwards


@pytest.mark.parametrize("subdir", ["/etc", "../..", "models/../../.."])
def test_a_subdirectory_must_stay_inside_the_checkout(repo, subdir):
    with pytest.raises(UsageError, match="subdirectory"), checkout(repo.as_uri(), None, subdir):
        pass
    with pytest.raises(UsageError, match="subdirectory"), checkout(str(repo), None, subdir):
        pass


@pytest.mark.parametrize("ref", ["--upload-pack=touch /tmp/pwned", "-x", " "])
def test_a_ref_that_reads_as_an_option_is_refused(repo, ref):
    with pytest.raises(UsageError, match="not a branch"), checkout(repo.as_uri(), ref):
        pass


def test_a_source_that_reads_as_an_option_is_never_an_option_to_git(tmp_path):
    marker = tmp_path / "pwned"
    source = f"--upload-pack=touch {marker}; false .git"
    with pytest.raises(UsageError, match="git clone of"), checkout(source):
        pass
    assert not marker.exists()  # behind "--", git took it for a repository path


def test_the_allowlist_admits_only_matching_sources(repo):
    allowed = ["https://github.com/acme/*", str(repo)]
    check_allowed("https://github.com/acme/model.git", allowed)
    check_allowed(str(repo), allowed)
    for source in ("https://github.com/evil/model.git", "/etc", repo.as_uri()):
        with pytest.raises(UsageError, match="not allowed by this deployment"):
            check_allowed(source, allowed)
    check_allowed("/anything", [])  # no allowlist: command-line runs take any source
