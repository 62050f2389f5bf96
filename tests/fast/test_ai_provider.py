"""Which service the AI goes through (tasks.core.ai_provider), and the usage errors of a choice
that cannot work (tasks.core.usage_checks): every combination of setting, secrets and platform."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from tasks.core.ai_provider import PROVIDER_ENV, resolve_provider, setting_problems
from tasks.core.config import Config, PredictConfig, TestCase
from tasks.core.job import Job
from tasks.core.options import RunOptions
from tasks.core.platform_data import PlatformSpec
from tasks.core.usage_checks import local_problems
from tests.helpers import copy_example

KEY, TOKEN = "ANTHROPIC_API_KEY", "REPLICATE_API_TOKEN"
SETTINGS = (None, "anthropic", "replicate")
ENV_SETTINGS = (None, "anthropic", "replicate", "auto", "Replicate ", "none", "OFF", "bogus")
SECRETS = (None, "", "   ", "set")  # unset, empty, blanks, a value


def environ(env_setting: str | None, key: str | None, token: str | None) -> dict[str, str]:
    values = {PROVIDER_ENV: env_setting, KEY: key, TOKEN: token}
    return {name: value for name, value in values.items() if value is not None}


@pytest.mark.parametrize(
    ("option", "env", "kind", "expected"),
    [
        # explicit wins, whatever the secrets say (a missing one is a usage error, below)
        ("replicate", {KEY: "k"}, "local", "replicate"),
        ("anthropic", {TOKEN: "t"}, "replicate", "anthropic"),
        (None, {PROVIDER_ENV: "replicate", KEY: "k"}, "local", "replicate"),
        ("anthropic", {PROVIDER_ENV: "replicate", TOKEN: "t"}, "replicate", "anthropic"),
        # the default: Anthropic's key first
        (None, {KEY: "k", TOKEN: "t"}, "replicate", "anthropic"),
        (None, {KEY: "k"}, "local", "anthropic"),
        # then Replicate's token, on the replicate platform only
        (None, {TOKEN: "t"}, "replicate", "replicate"),
        (None, {TOKEN: "t", KEY: "  "}, "replicate", "replicate"),
        (None, {TOKEN: "t"}, "local", None),
        (None, {TOKEN: "t"}, "fake", None),
        (None, {PROVIDER_ENV: "auto", TOKEN: "t"}, "replicate", "replicate"),
        # else none
        (None, {}, "replicate", None),
        (None, {TOKEN: " "}, "replicate", None),
        # off: no AI even with a key (and a value it may not say is no AI either)
        (None, {PROVIDER_ENV: "none", KEY: "k", TOKEN: "t"}, "replicate", None),
        ("anthropic", {PROVIDER_ENV: "none", KEY: "k"}, "local", "anthropic"),
        (None, {PROVIDER_ENV: "bogus", KEY: "k"}, "local", None),
    ],
)
def test_the_rule(option, env, kind, expected):
    assert resolve_provider(option, kind, env) == expected


def test_every_combination_follows_the_rule():
    """The rule as the README states it, checked against every combination."""
    for option, env_setting, key, token, kind in itertools.product(
        SETTINGS, ENV_SETTINGS, SECRETS, SECRETS, ("local", "replicate")
    ):
        env = environ(env_setting, key, token)
        from_env = (env_setting or "").strip().lower()
        explicit = option or (from_env if from_env in ("anthropic", "replicate") else None)
        if explicit:
            expected = explicit
        elif from_env not in ("", "auto"):  # none, off, or a value it may not say
            expected = None
        elif (key or "").strip():
            expected = "anthropic"
        elif kind == "replicate" and (token or "").strip():
            expected = "replicate"
        else:
            expected = None
        got = resolve_provider(option, kind, env)
        assert got == expected, (option, env, kind)
        problems = setting_problems(option, env)
        secret_of = {"anthropic": key, "replicate": token}
        if explicit and not (secret_of[explicit] or "").strip():
            assert problems and f"{explicit} needs" in problems[0], (option, env)
        elif not option and from_env == "bogus":
            assert problems and PROVIDER_ENV in problems[0] and "bogus" in problems[0]
        else:
            assert problems == [], (option, env)


def test_problems_name_where_the_choice_came_from():
    assert setting_problems("replicate", {}) == [
        "--ai-provider replicate needs REPLICATE_API_TOKEN, which is not set"
    ]
    assert setting_problems(None, {PROVIDER_ENV: "anthropic"}) == [
        f"{PROVIDER_ENV} anthropic needs ANTHROPIC_API_KEY, which is not set"
    ]
    assert setting_problems(None, {PROVIDER_ENV: "openai"}) == [
        f"{PROVIDER_ENV} must be one of anthropic, replicate, none, auto, got 'openai'"
    ]
    assert setting_problems(None, {PROVIDER_ENV: "none"}) == []


# --- the usage checks of a whole job (exit 2 before anything runs) -------------------------


@pytest.fixture
def model_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in (PROVIDER_ENV, KEY, TOKEN):  # the session says none (tests/conftest.py)
        monkeypatch.delenv(name, raising=False)
    return copy_example("hello", tmp_path)


def job(model_dir: Path, kind: str = "local", prompt: bool = True, **options) -> Job:
    cases = [TestCase(inputs={}, match_prompt="a greeting")] if prompt else []
    config = Config(model="acme/hello", predict=PredictConfig(test_cases=cases))
    spec = PlatformSpec(kind=kind)
    return Job(config=config, options=RunOptions(**options), spec=spec, cog_dir=str(model_dir))


def ai_lines(problems: list[str]) -> list[str]:
    return [p for p in problems if "AI" in p or "ai-" in p or PROVIDER_ENV in p]


def test_an_explicit_provider_without_its_secret_is_a_usage_error(model_dir, monkeypatch):
    monkeypatch.setenv(KEY, "k")
    assert ai_lines(local_problems(job(model_dir, ai_provider="replicate"))) == [
        "--ai-provider replicate needs REPLICATE_API_TOKEN, which is not set"
    ]
    monkeypatch.setenv(PROVIDER_ENV, "replicate")  # the deployments' and CI's default
    assert ai_lines(local_problems(job(model_dir, prompt=False))) == [
        f"{PROVIDER_ENV} replicate needs REPLICATE_API_TOKEN, which is not set"
    ]
    monkeypatch.setenv(PROVIDER_ENV, "claude")
    assert "got 'claude'" in ai_lines(local_problems(job(model_dir, prompt=False)))[0]
    monkeypatch.setenv(TOKEN, "t")
    monkeypatch.setenv(PROVIDER_ENV, "replicate")
    assert ai_lines(local_problems(job(model_dir))) == []
    assert job(model_dir).ai_provider == "replicate"


def test_a_check_that_needs_the_ai_without_one_is_a_usage_error(model_dir, monkeypatch):
    monkeypatch.setenv(TOKEN, "t")  # a token alone is no AI on the local platform
    [line] = ai_lines(local_problems(job(model_dir)))
    assert "needs the AI" in line and KEY in line and "--ai-provider replicate" in line
    assert ai_lines(local_problems(job(model_dir, "replicate"))) == []  # there it is the AI
    assert ai_lines(local_problems(job(model_dir, prompt=False))) == []  # nothing needs it
    monkeypatch.setenv(KEY, "k")
    monkeypatch.setenv(PROVIDER_ENV, "none")  # no AI even with a key: and one is needed
    [line] = ai_lines(local_problems(job(model_dir)))
    assert f"there is none ({PROVIDER_ENV} is none)" in line


def test_a_replicate_ai_model_must_be_owner_and_name(model_dir, monkeypatch):
    monkeypatch.setenv(TOKEN, "t")
    bad = local_problems(job(model_dir, "replicate", ai_model="claude-sonnet-4-5"))
    assert any("--ai-model must be in the format <owner>/<name>" in p for p in bad)
    good = job(model_dir, "replicate", ai_model="anthropic/claude-4-sonnet")
    assert ai_lines(local_problems(good)) == []
    monkeypatch.setenv(KEY, "k")  # then Anthropic's API is the AI, with its own model names
    assert ai_lines(local_problems(job(model_dir, "replicate", ai_model="claude-x"))) == []
