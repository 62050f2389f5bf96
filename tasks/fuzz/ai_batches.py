"""AI fuzz-input generation: one Claude request yields a batch of diverse payloads.

Why batches: asking once per input (as the seed tool did) costs N sequential round trips
and lets the model repeat itself; one request for ten payloads, shown everything already
generated, costs N/10 calls and asks explicitly for new combinations.

The model never writes file contents: it names bundled samples (`@media:scene-256.jpg`)
and we substitute their data URIs after parsing. Every payload then goes through
`repair_payload`; a batch that still fails is re-asked (bounded) with the validation
errors, and after that the stage fails with FuzzGenerationError.
"""

from __future__ import annotations

import math
import random
from dataclasses import asdict, dataclass
from typing import Any

from tasks.ai.client import AI, AIError
from tasks.core.errors import SafePushError
from tasks.fuzz import sample_media
from tasks.fuzz.ai_prompt import MEDIA_PREFIX, SYSTEM, abbreviate, build_prompt
from tasks.fuzz.repair import repair_with_notes
from tasks.fuzz.schema_view import as_input_schema, flatten, is_file_input, properties
from tasks.fuzz.validate import InvalidPayload

_MAX_EXTRA_BATCHES = 3  # short batches tolerated before we give up


class FuzzGenerationError(SafePushError):
    """The AI could not produce valid fuzz inputs within the allowed re-asks (exit 1)."""

    exit_code = 1


@dataclass
class FuzzStats:
    """What generation cost and how often the AI's payloads needed fixing."""

    batches: int = 0  # first requests; AI calls = batches + reasks (+ unparseable replies)
    reasks: int = 0  # re-asks because a batch broke the schema
    generated: int = 0
    repaired: int = 0

    @property
    def repair_share(self) -> float:
        return self.repaired / self.generated if self.generated else 0.0

    def add(self, other: FuzzStats) -> None:
        self.batches += other.batches
        self.reasks += other.reasks
        self.generated += other.generated
        self.repaired += other.repaired

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "repair_share": round(self.repair_share, 4)}


# --------------------------------------------------------------------------------------
# Parsing and repair
# --------------------------------------------------------------------------------------


def _substitute_media(
    name: str, value: Any, prop: dict[str, Any], rng: random.Random, notes: list[str]
) -> Any:
    """Turn @media names into data URIs; replace invented URLs and samples that do not
    fit the input (another kind, or an SVG or mask it did not ask for)."""
    flat = flatten(prop)
    if isinstance(value, list) and is_file_input(flat) and flat.get("type") == "array":
        return [_one_media(name, v, flat, rng, notes) for v in value]
    if not isinstance(value, str) or flat.get("format") != "uri":
        return value
    return _one_media(name, value, flat, rng, notes)


def _one_media(
    name: str, value: Any, flat: dict[str, Any], rng: random.Random, notes: list[str]
) -> Any:
    """One file value; `flat` is the input's schema (a list's own, for a list of files)."""
    if not isinstance(value, str):
        return value
    wanted = value[len(MEDIA_PREFIX) :] if value.startswith(MEDIA_PREFIX) else value
    sample = sample_media.by_name(wanted.strip().split("/")[-1])
    if sample is None or not sample_media.fits_input(sample, name, flat):
        replacement = rng.choice(sample_media.samples_for_input(name, flat))
        notes.append(f"{name}: {abbreviate(value)!r} -> {MEDIA_PREFIX}{replacement.name}")
        sample = replacement
    return sample_media.as_input_value(sample)


def _prepare(
    raw: Any,
    schema: dict[str, Any],
    *,
    fixed: dict[str, Any],
    disabled: list[str],
    rng: random.Random,
) -> tuple[dict[str, Any], bool]:
    """(valid payload, needed repair?) for one AI-written payload, or InvalidPayload."""
    if not isinstance(raw, dict):
        raise InvalidPayload([f"expected a JSON object, got {type(raw).__name__}"])
    props = properties(schema)
    notes: list[str] = []
    substituted = {
        k: _substitute_media(k, v, props[k], rng, notes) if k in props else v
        for k, v in raw.items()
    }
    payload, repair_notes = repair_with_notes(
        substituted, schema, fixed=fixed, disabled=disabled, rng=rng
    )
    # Fixed inputs the model left out (as it was told it may) are not a repair.
    repair_notes = [n for n in repair_notes if not n.endswith("set to its fixed value")]
    return payload, bool(notes or repair_notes)


def _batch_checker(
    schema: dict[str, Any],
    fixed: dict[str, Any],
    disabled: list[str],
    rng: random.Random,
    out: dict[str, Any],
):
    """A `check` for AI.ask_json: raise ValueError (-> re-ask) unless every payload is usable."""

    def check(value: Any) -> None:
        if isinstance(value, dict):
            for key in ("payloads", "inputs", "items"):
                if isinstance(value.get(key), list):
                    value = value[key]
                    break
            else:
                value = [value]
        if not isinstance(value, list) or not value:
            raise ValueError("expected a non-empty JSON array of input objects")
        payloads, repaired, problems = [], 0, []
        for index, raw in enumerate(value):
            try:
                payload, needed = _prepare(raw, schema, fixed=fixed, disabled=disabled, rng=rng)
            except InvalidPayload as exc:
                problems.append(f"payload {index}: " + "; ".join(exc.errors))
                continue
            payloads.append(payload)
            repaired += needed
        out["attempts"] = out.get("attempts", 0) + 1
        if problems:
            out["problems"] = problems
            raise ValueError(
                "some payloads break the input schema, fix them and send the whole array "
                "again:\n" + "\n".join(problems[:20])
            )
        out["payloads"], out["repaired"] = payloads, repaired

    return check


def generate_ai_inputs(
    input_schema: dict[str, Any],
    n: int,
    *,
    fixed: dict[str, Any] | None = None,
    disabled: list[str] | tuple[str, ...] = (),
    prompt: str | None = None,
    batch_size: int = 10,
    ai: AI,
    rng: random.Random | None = None,
    stats_out: FuzzStats | None = None,
) -> list[dict[str, Any]]:
    """`n` valid payloads written by the AI, about ceil(n / batch_size) requests.

    Raises FuzzGenerationError when a batch stays invalid after the AI's re-asks, or when
    the AI keeps returning too few payloads. Transport failures (AIError with a status)
    propagate so Prefect's retry condition can judge them.
    """
    if n <= 0:
        return []
    rng = rng or random.Random()
    schema = as_input_schema(input_schema)
    fixed = dict(fixed or {})
    disabled = list(disabled)
    batch_size = max(1, int(batch_size))
    run = FuzzStats()
    results: list[dict[str, Any]] = []
    max_batches = math.ceil(n / batch_size) + _MAX_EXTRA_BATCHES
    try:
        while len(results) < n:
            if run.batches >= max_batches:
                raise FuzzGenerationError(
                    f"the AI returned only {len(results)} of {n} fuzz inputs "
                    f"after {run.batches} requests"
                )
            count = min(batch_size, n - len(results))
            text = build_prompt(
                schema, count, fixed=fixed, disabled=disabled, user_prompt=prompt, previous=results
            )
            out: dict[str, Any] = {}
            run.batches += 1
            try:
                ai.ask_json(
                    text, system=SYSTEM, check=_batch_checker(schema, fixed, disabled, rng, out)
                )
            except AIError as exc:
                run.reasks += max(0, out.get("attempts", 0) - 1)
                if "problems" in out or "no usable JSON" in str(exc):
                    details = "; ".join(out.get("problems", [])[:5]) or str(exc)
                    raise FuzzGenerationError(
                        f"the AI's fuzz inputs still break the input schema after "
                        f"{ai.max_reasks} re-asks: {details}"
                    ) from None
                raise
            attempts = out["attempts"]
            run.reasks += attempts - 1
            batch = out["payloads"][:count]
            run.generated += len(batch)
            run.repaired += min(out["repaired"], len(batch))
            results.extend(batch)
    finally:
        if stats_out is not None:
            stats_out.add(run)
    return results
