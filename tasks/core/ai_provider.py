"""Which service the AI checks go through: Anthropic's API, or Claude hosted on Replicate.

Why one place: the fuzz generator, match_prompt, the comparison judge and verdict reuse must
all agree on whether there is an AI and whose it is, and the usage checks must refuse an
impossible choice before anything runs. The rule, as a pure function of the setting, the
platform and the environment (`resolve_provider`):
  1. an explicit setting wins (RunOptions.ai_provider, else COG_SAFE_PUSH_AI_PROVIDER);
  2. else `anthropic` when ANTHROPIC_API_KEY is set;
  3. else `replicate` when the models live on Replicate and REPLICATE_API_TOKEN is set;
  4. else no AI: the checks fall back to heuristics, or say why they cannot run.
COG_SAFE_PUSH_AI_PROVIDER may also say `auto` (the rule) or `none` (no AI even with a key:
nothing is spent on it, as when no key is set).
Only names of secrets are read here, never passed on: each backend reads its own secret.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, cast, get_args

Provider = Literal["anthropic", "replicate"]
PROVIDERS: tuple[Provider, ...] = get_args(Provider)
PROVIDER_ENV = "COG_SAFE_PUSH_AI_PROVIDER"
SECRET_OF: dict[Provider, str] = {
    "anthropic": "ANTHROPIC_API_KEY",
    "replicate": "REPLICATE_API_TOKEN",
}
AUTO = ("", "auto")  # what the environment variable may say to mean "choose for me"
OFF = ("none", "off")  # ... and to mean "no AI, even with a key": nothing spent on it


def has_secret(provider: Provider, environ: Mapping[str, str]) -> bool:
    """True when the provider's secret is set to something other than blanks."""
    return bool(environ.get(SECRET_OF[provider], "").strip())


def env_setting(environ: Mapping[str, str]) -> str | None:
    """COG_SAFE_PUSH_AI_PROVIDER as written (lowercased), or None when unset or "auto"."""
    value = environ.get(PROVIDER_ENV, "").strip().lower()
    return None if value in AUTO else value


def resolve_provider(
    option: str | None, platform_kind: str, environ: Mapping[str, str]
) -> Provider | None:
    """The provider a run's AI goes through, or None for no AI (the rule above). The
    environment may also say `none` (no AI at all); a value it may not say is no AI either
    (and a usage error: `setting_problems`)."""
    chosen = option or env_setting(environ)
    if chosen is not None:
        return cast(Provider, chosen) if chosen in PROVIDERS else None
    if has_secret("anthropic", environ):
        return "anthropic"
    if platform_kind == "replicate" and has_secret("replicate", environ):
        return "replicate"
    return None


def setting_problems(option: str | None, environ: Mapping[str, str]) -> list[str]:
    """Why the explicit choice cannot work: an unknown value, or a provider without its
    secret. Empty when there is no explicit choice or it can work."""
    source = "--ai-provider" if option else PROVIDER_ENV
    chosen = option or env_setting(environ)
    if chosen is None or chosen in OFF:
        return []
    if chosen not in PROVIDERS:
        allowed = ", ".join([*PROVIDERS, *OFF[:1], "auto"])
        return [f"{source} must be one of {allowed}, got {chosen!r}"]
    provider = cast(Provider, chosen)
    if has_secret(provider, environ):
        return []
    secret = SECRET_OF[provider]
    return [f"{source} {provider} needs {secret}, which is not set"]
