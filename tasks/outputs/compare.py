"""Is the new version's output equivalent to the live version's? Pure logic, no Prefect.

Two ways to ask. `compare_with_live(live, test, live_again)` is the differential one the
comparison stage uses: determinism comes from evidence, not from a `seed` key. Where the
live version gave the same value twice (`live` and `live_again`), the test version must give
it too, exactly (text exactly, files by content, images within IMAGE_TIGHT_DISTANCE, floats
within a tight tolerance). Where the live version varies, its own variation is the
yardstick: the test output must be no further from live than live is from itself (text by
difflib distance plus TEXT_MARGIN, images by pixel distance, numbers by their spread); only
what that cannot settle goes to the AI. `compare_outputs(old, new, deterministic=...)` is
the older one-sample rule, kept for the match_url checker and callers without a second run.

The verdict is honest: "match" only when something actually established equivalence,
"mismatch" when something established a difference, and "unverified" when nothing could
(e.g. two unseeded texts and no AI key). Every message names where (key path, list index)
and why.

Rules and thresholds (documented here because users will meet them in failure messages; the
file rules are applied by tasks.outputs.compare_files, which holds their thresholds):

- Different types fail; booleans, integers and None compare exactly; floats must satisfy
  `math.isclose(old, new, rel_tol=FLOAT_REL_TOL, abs_tol=FLOAT_ABS_TOL)`.
- Dicts: same keys, then each value. Lists: same length, then element-wise.
- Strings: exact when the run is deterministic (the inputs carry a seed). Otherwise the AI
  judges when it is available. Without AI, identical strings match, an empty answer where
  there was text (or non-JSON where there was JSON) is a mismatch, and anything else is
  "unverified" with a similarity figure (difflib ratio) — never a silent pass.
- Files (http(s) URLs, data: URIs, file:// URLs, local paths) are compared by media kind
  after extensions are normalised (jpeg -> jpg, tif -> tiff, ...):
  * images: same format and size. Deterministic: the mean absolute per-channel difference,
    as a fraction of full scale, must be at most IMAGE_DISTANCE_THRESHOLD (2% — absorbs GPU
    non-determinism and re-encoding, catches a different picture). Otherwise the AI looks
    at both; without AI a 64-bit difference hash (dHash) within IMAGE_HASH_BITS bits is a
    match, further apart is "unverified". A flat single-colour image where there was a
    picture is always a mismatch.
  * audio: same format. WAV (wave module): sample rate, channels and sample width equal;
    deterministic: duration within one frame or 10 ms and mean absolute sample difference
    at most AUDIO_SAMPLE_THRESHOLD (0.5% of full scale); unseeded: durations within
    DURATION_REL_TOL (50%) of each other, else "unverified". Silence where there was sound
    is a mismatch. Other audio formats use ffprobe/ffmpeg when on PATH (the same checks on
    decoded samples), else a content hash (deterministic) or "unverified".
  * video: same format; with ffprobe, the same resolution and a duration within 0.1 s
    (deterministic) or DURATION_REL_TOL; without ffprobe, "unverified" unless byte-identical.
  * text files: JSON files structurally, others as strings (rules above).
  * anything else: content hash when deterministic, otherwise "unverified" unless identical.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from tasks.core.errors import SafePushError
from tasks.outputs.compare_files import (
    _AI,
    _HEURISTIC,
    _STABLE,
    _VARIES,
    MISSING,
    FileComparisons,
)
from tasks.outputs.files import (
    is_file_output,
    resolve,
    sha256_file,
)

if TYPE_CHECKING:
    from tasks.ai.client import AI

Verdict = Literal["match", "mismatch", "unverified"]

FLOAT_REL_TOL = 1e-4
FLOAT_ABS_TOL = 1e-6
TEXT_EXCERPT = 4000  # characters of each text shown to the AI
# Differential comparison (compare_with_live):
STABLE_FLOAT_REL_TOL = 1e-6  # a float the live version repeats exactly
STABLE_FLOAT_ABS_TOL = 1e-9
TEXT_MARGIN = 0.15  # slack over live's own text distance (one sample of its variation)

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_BLOCK = 1 << 16  # characters compared at a time when looking for a first difference
_PARSE_LIMIT = 1 << 20  # characters of a text parsed to tell whether it is JSON


@dataclass
class Comparison:
    verdict: Verdict
    messages: list[str] = field(default_factory=list)
    evidence: str = ""  # what decided the verdict, in words, for the report

    @property
    def ok(self) -> bool:
        """Not a mismatch (an unverified comparison does not fail the push, but is reported)."""
        return self.verdict != "mismatch"

    def to_dict(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "messages": list(self.messages), "evidence": self.evidence}


def same(a: Any, b: Any) -> bool:
    """Equal values of equal types (True is not 1, 1 is not 1.0), NaN equal to NaN."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return bool(a == b)


def identical(a: Any, b: Any) -> bool:
    """The same output: equal values, and every file with the same content."""
    try:
        return same(_file_keyed(a), _file_keyed(b))
    except SafePushError:
        return False


def _file_keyed(value: Any) -> Any:
    if is_file_output(value):
        return {"file-sha256": sha256_file(resolve(value))}
    if isinstance(value, list | tuple):
        return [_file_keyed(v) for v in value]
    if isinstance(value, dict):
        return {k: _file_keyed(v) for k, v in value.items()}
    return value


def text_distance(a: str, b: str) -> float:
    """0.0 for equal texts, 1.0 for nothing in common (difflib, on the first 2,000 chars)."""
    if a == b:
        return 0.0
    return 1.0 - difflib.SequenceMatcher(None, a[:2000], b[:2000], autojunk=False).ratio()


class _Collector(FileComparisons):
    """Walks two outputs and records every difference and every unverifiable spot.

    `again` (differential mode) is the live version's second output at the same spot, or
    MISSING; without it (`differential` False) `deterministic` says how strict to be."""

    def __init__(self, deterministic: bool, ai: AI | None, differential: bool = False) -> None:
        self.deterministic = deterministic
        self.differential = differential
        self.ai = ai
        self.mismatches: list[str] = []
        self.unverified: list[str] = []
        self.decided: dict[str, list[str]] = {}  # evidence kind -> spots it decided

    def mismatch(self, where: str, why: str) -> None:
        self.mismatches.append(f"{where}: {why}")

    def unsure(self, where: str, why: str) -> None:
        self.unverified.append(f"{where}: {why} (unverified)")

    def note(self, kind: str, detail: str) -> None:
        self.decided.setdefault(kind, []).append(detail)

    def result(self) -> Comparison:
        evidence = self._evidence()
        if self.mismatches:
            return Comparison("mismatch", self.mismatches + self.unverified, evidence)
        if self.unverified:
            return Comparison("unverified", self.unverified, evidence)
        return Comparison("match", [], evidence)

    def _evidence(self) -> str:
        parts = []
        if self.decided.get(_STABLE):
            parts.append(
                "the live version gives the same output twice, so the test version must match "
                "it exactly"
            )
        if self.decided.get(_VARIES):
            details = "; ".join(self.decided[_VARIES][:3])
            parts.append(f"the live version varies from run to run: {details}")
        if self.decided.get(_AI):
            parts.append("the AI judged what that could not settle")
        if self.decided.get(_HEURISTIC):
            parts.append("without an AI key, heuristics judged the rest")
        return "; ".join(parts)

    def strict(self, stable: bool | None) -> bool:
        """Exactness at a spot: the evidence when there is some, else the caller's flag."""
        return self.deterministic if stable is None else stable

    def stability(self, old: Any, again: Any) -> bool | None:
        """True: live repeated this spot exactly; False: live varies here; None: no evidence
        (the one-sample rule)."""
        if not self.differential:
            return None
        if again is MISSING:
            return False
        return identical(old, again)

    # --- structure -------------------------------------------------------------------

    def value(self, old: Any, new: Any, where: str, again: Any = MISSING) -> None:
        stable = self.stability(old, again)
        old_file, new_file = is_file_output(old), is_file_output(new)
        if old_file or new_file:
            if old_file and new_file:
                self.file(old, new, where, again=again, stable=stable)
            else:
                was, now = _type_name(old, old_file), _type_name(new, new_file)
                self.mismatch(where, f"type changed from {was} to {now}")
            return
        if type(old) is not type(new):
            self.mismatch(
                where, f"type changed from {_type_name(old, False)} to {_type_name(new, False)}"
            )
            return
        if isinstance(old, dict):
            self.mapping(old, new, where, again)
        elif isinstance(old, list | tuple):
            self.sequence(old, new, where, again)
        elif isinstance(old, float):
            self.number(old, new, where, again, stable)
        elif isinstance(old, str):
            self.text(old, new, where, again=again, stable=stable)
        elif old != new:
            if stable is False and self._within_scalars(old, new, again):
                self.note(_VARIES, f"{where} takes several values")
                return
            if stable is False:
                self.unsure(where, f"{_short(new)} differs from {_short(old)}, and live varies")
                return
            if stable:
                self.note(_STABLE, where)
            self.mismatch(where, f"{_short(new)} differs from {_short(old)}")

    @staticmethod
    def _within_scalars(old: Any, new: Any, again: Any) -> bool:
        """A varying integer, boolean or null: the new value is one live gave, or (integers)
        no further from live than live's two values are from each other."""
        if again is MISSING:
            return False
        if same(new, again):
            return True
        numbers = (int,)
        if isinstance(old, bool) or not isinstance(old, numbers) or not isinstance(again, numbers):
            return False
        spread = abs(old - again)
        return min(abs(new - old), abs(new - again)) <= spread

    def mapping(
        self, old: dict[Any, Any], new: dict[Any, Any], where: str, again: Any = MISSING
    ) -> None:
        missing = [k for k in old if k not in new]
        added = [k for k in new if k not in old]
        keys_vary = isinstance(again, dict) and again.keys() != old.keys()
        report = self.unsure if keys_vary else self.mismatch
        if missing:
            report(where, f"keys missing in the new output: {_keys(missing)}")
        if added:
            report(where, f"keys added in the new output: {_keys(added)}")
        for key in old:
            if key in new:
                sub = again[key] if isinstance(again, dict) and key in again else MISSING
                self.value(old[key], new[key], _child(where, key), sub)

    def sequence(self, old: Any, new: Any, where: str, again: Any = MISSING) -> None:
        lengths_vary = isinstance(again, list | tuple) and len(again) != len(old)
        if len(old) != len(new):
            if not lengths_vary:
                self.mismatch(where, f"list length changed from {len(old)} to {len(new)}")
                return
            low, high = sorted((len(old), len(again)))
            span = high - low
            if low - span <= len(new) <= high + span:
                self.note(_VARIES, f"{where} has {low} to {high} items")
            else:
                self.unsure(
                    where, f"{len(new)} items, outside the live version's own {low} to {high}"
                )
            return
        for index, (a, b) in enumerate(zip(old, new, strict=True)):
            sub = again[index] if isinstance(again, list | tuple) and not lengths_vary else MISSING
            self.value(a, b, f"{where}[{index}]", sub)

    def number(self, old: float, new: float, where: str, again: Any, stable: bool | None) -> None:
        if math.isnan(old) and math.isnan(new):
            return
        if stable:
            if not math.isclose(
                old, new, rel_tol=STABLE_FLOAT_REL_TOL, abs_tol=STABLE_FLOAT_ABS_TOL
            ):
                self.note(_STABLE, where)
                self.mismatch(
                    where, f"{new!r} differs from {old!r}, which the live version gives every time"
                )
            return
        if stable is False and isinstance(again, float):
            spread = abs(old - again)
            distance = min(abs(new - old), abs(new - again))
            if distance <= 2 * spread + FLOAT_ABS_TOL:
                self.note(_VARIES, f"{where} within {spread:.3g} of live")
            else:
                self.unsure(
                    where,
                    f"{new!r} is {distance:.3g} from the live version's values, which vary by "
                    f"{spread:.3g}",
                )
            return
        if not math.isclose(old, new, rel_tol=FLOAT_REL_TOL, abs_tol=FLOAT_ABS_TOL):
            if stable is False:
                self.unsure(where, f"{new!r} differs from {old!r} beyond tolerance")
            else:
                self.mismatch(where, f"{new!r} differs from {old!r} beyond tolerance")

    # --- text ------------------------------------------------------------------------

    def text(
        self, old: str, new: str, where: str, *, again: Any = MISSING, stable: bool | None = None
    ) -> None:
        if old == new:
            return
        if stable:
            self.note(_STABLE, where)
            self.mismatch(  # the finding first: a cut line keeps it
                where,
                f"{_first_difference(old, new)} (the live version gives this text every time)",
            )
            return
        if stable is None and self.deterministic:
            self.mismatch(where, f"text differs with a fixed seed: {_first_difference(old, new)}")
            return
        if (
            stable is False
            and isinstance(again, str)
            and self._within_live_text(old, new, again, where)
        ):
            return
        if self.ai is not None:
            self.note(_AI, where)
            self._ai_text(old, new, where)
            return
        self.note(_HEURISTIC, where)
        self._heuristic_text(old, new, where)

    def _within_live_text(self, old: str, new: str, again: str, where: str) -> bool:
        """The test text is no further from live than live's two texts are from each other."""
        if old.strip() and again.strip() and not new.strip():
            return False  # empty where live always says something: never "within variation"
        live = text_distance(old, again)
        test = min(text_distance(old, new), text_distance(again, new))
        if test <= live + TEXT_MARGIN:
            self.note(
                _VARIES,
                f"{where}: text distance {test:.2f} from live, live {live:.2f} from itself",
            )
            return True
        return False

    def _ai_text(self, old: str, new: str, where: str) -> None:
        from tasks.ai.client import DATA_NOTE, AIError, fenced

        prompt = (
            "Two versions of the same machine-learning model were run on identical inputs "
            "without a fixed random seed, so their outputs may legitimately differ in wording "
            f"or detail. {DATA_NOTE}\n\n"
            f"Output of the current version:\n{fenced(old[:TEXT_EXCERPT])}\n\n"
            f"Output of the new version:\n{fenced(new[:TEXT_EXCERPT])}\n\n"
            "Is the new output an acceptable equivalent of the current one: the same kind of "
            "answer, the same language and format, of comparable quality, and not broken "
            "(empty, garbled, truncated, an error message)?"
        )
        assert self.ai is not None
        try:
            same, reason = self.ai.ask_yes_no_majority(prompt)
        except AIError as exc:
            self.unsure(where, f"texts differ and the AI could not judge them: {exc}")
            return
        if not same:
            self.mismatch(where, f"the AI judged the texts not equivalent: {reason}")

    def _heuristic_text(self, old: str, new: str, where: str) -> None:
        if old.strip() and not new.strip():
            self.mismatch(where, "the new output is empty where the current one has text")
            return
        if _is_json_text(old) and not _is_json_text(new):
            self.mismatch(where, "the current output is JSON text, the new one is not")
            return
        ratio = difflib.SequenceMatcher(None, old[:2000], new[:2000], autojunk=False).ratio()
        self.unsure(
            where,
            f"texts differ (similarity {ratio:.2f}, {len(old)} vs {len(new)} characters) "
            "and there is neither a seed nor an AI key to judge them",
        )


def compare_outputs(old: Any, new: Any, *, deterministic: bool, ai: AI | None = None) -> Comparison:
    """Compare the live version's output (`old`) with the new version's (`new`), one sample
    each: `deterministic` says whether they must be equal."""
    collector = _Collector(deterministic, ai)
    collector.value(old, new, "output")
    return collector.result()


def compare_with_live(
    live: Any, test: Any, live_again: Any = MISSING, *, ai: AI | None = None
) -> Comparison:
    """Compare the test version's output with the live version's, by evidence.

    `live_again` is the live version's output for the same input a second time (MISSING when
    it was not run: then only identical outputs match, and anything else is unverified).
    """
    if identical(live, test):
        return Comparison("match", [], "identical to the live version's output")
    if live_again is MISSING:
        return Comparison(
            "unverified",
            ["output: differs from the live version's, which was run only once (unverified)"],
            "a single run of the live version",
        )
    collector = _Collector(False, ai, differential=True)
    collector.value(live, test, "output", live_again)
    return collector.result()


def compare_files(
    old_ref: Any, new_ref: Any, *, deterministic: bool, ai: AI | None = None, where: str = "output"
) -> Comparison:
    """Compare a file the user named (`old_ref`: the match_url checker's expected file) with an
    output file."""
    collector = _Collector(deterministic, ai)
    collector.file(old_ref, new_ref, where, old_trusted=True)
    return collector.result()


# --- small helpers ---------------------------------------------------------------------


def _type_name(value: Any, is_file: bool) -> str:
    if is_file:
        return "file"
    if value is None:
        return "null"
    return {
        bool: "boolean",
        int: "integer",
        float: "number",
        str: "string",
        list: "list",
        tuple: "list",
        dict: "object",
    }.get(type(value), type(value).__name__)


def _child(where: str, key: Any) -> str:
    if isinstance(key, str) and _IDENT.match(key):
        return f"{where}.{key}"
    shown = json.dumps(key) if isinstance(key, str) else repr(key)
    return f"{where}[{shown}]"


def _keys(keys: list[Any]) -> str:
    return ", ".join(repr(k) for k in sorted(keys, key=str))


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def first_difference_at(old: str, new: str) -> int:
    """Where two texts first differ (the shorter one's length when one begins the other).
    Block by block: equal blocks compare at memcmp speed, so two 50 MB texts that differ at
    their end cost no Python loop over 50 million characters, and no copy beyond a block."""
    end = min(len(old), len(new))
    for start in range(0, end, _BLOCK):
        stop = min(start + _BLOCK, end)
        if old[start:stop] != new[start:stop]:
            return next(i for i in range(start, stop) if old[i] != new[i])
    return end


def _first_difference(old: str, new: str) -> str:
    """Where two texts first differ, said as a person counts: the first character is 1."""
    index = first_difference_at(old, new)
    start = max(0, index - 20)
    return (
        f"first difference at character {index + 1}: "
        f"{old[start : index + 20]!r} became {new[start : index + 20]!r}"
    )


def _is_json_text(text: str) -> bool:
    stripped = text.strip()
    if not stripped or stripped[0] not in "[{":
        return False
    if len(stripped) > _PARSE_LIMIT:  # judged by its brackets: parsing would copy it all
        return stripped[-1] == {"[": "]", "{": "}"}[stripped[0]]
    try:
        json.loads(stripped)
    except json.JSONDecodeError:
        return False
    return True
