"""Which platform a run gets when none is named: never a silent local run in CI."""

from __future__ import annotations

import pytest

from tasks.core.errors import UsageError
from tasks.platforms import in_ci, resolve_spec


@pytest.mark.parametrize(
    "ci, expected",
    [("true", True), ("1", True), ("yes", True), ("TRUE", True), ("", False), ("false", False),
     ("0", False), (None, False)],
)  # fmt: skip
def test_what_counts_as_ci(monkeypatch, ci, expected):
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    assert in_ci() is expected


@pytest.mark.parametrize(
    "ci, token, explicit, expected",
    [
        (None, None, None, "local"),
        (None, "r8_x", None, "replicate"),
        ("true", "r8_x", None, "replicate"),
        ("true", None, None, UsageError),
        ("true", "  ", None, UsageError),
        ("true", None, "local", "local"),
        ("true", None, "replicate", "replicate"),  # its own preflight names the missing token
        ("false", None, None, "local"),
    ],
)
def test_the_default_platform(monkeypatch, ci, token, explicit, expected):
    for name, value in (("CI", ci), ("REPLICATE_API_TOKEN", token)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    if expected is UsageError:
        with pytest.raises(UsageError, match="--platform local") as caught:
            resolve_spec(explicit)
        assert "REPLICATE_API_TOKEN" in str(caught.value)
    else:
        assert resolve_spec(explicit).kind == expected
