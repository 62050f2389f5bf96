"""The cog-safe-push.yaml format (the seed tool's, unchanged) and the command-line syntaxes.

Pure: parsing and validation only. Every problem becomes a UsageError (exit 2) whose message
is one line a person can act on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tasks.core.errors import UsageError
from tasks.core.platform_data import DeploymentSpec, PushOptions
from tasks.core.refs import check_ref
from tasks.core.safe_yaml import load_yaml

DEFAULT_PREDICT_TIMEOUT = 300
MAX_TIMEOUT = 24 * 3600  # seconds; a longer prediction is a hung one
MAX_FUZZ_ITERATIONS = 10_000
DEFAULT_CONFIG_PATH = "cog-safe-push.yaml"
DEFAULT_COMPARE_INPUTS = 3
MAX_COMPARE_INPUTS = 50
DEFAULT_MAX_SLOWDOWN = 2.0
CHECKER_FIELDS = ("exact_string", "match_url", "match_prompt", "jq_query", "error_contains")

InputValue = Any


class _Strict(BaseModel):
    """Unknown fields are errors; frozen, because a run's settings never change under it."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class TestCase(_Strict):
    """Inputs plus at most one output checker (none: the prediction must just succeed)."""

    __test__ = False  # not a pytest class

    inputs: dict[str, InputValue] = Field(default_factory=dict, description="Model inputs")
    exact_string: str | None = Field(None, description="Output must equal this string")
    match_url: str | None = Field(None, description="Output file must match the file at this URL")
    match_prompt: str | None = Field(None, description="An AI judges the output against this")
    jq_query: str | None = Field(None, description="jq expression that must be truthy")
    error_contains: str | None = Field(None, description="The prediction must fail with this")

    @model_validator(mode="after")
    def _one_checker(self) -> TestCase:
        chosen = [name for name in CHECKER_FIELDS if getattr(self, name) is not None]
        if len(chosen) > 1:
            raise ValueError(
                f"a test case may have at most one of {', '.join(CHECKER_FIELDS)}; got {', '.join(chosen)}"
            )
        return self

    def checker(self) -> str:
        for name in CHECKER_FIELDS:
            if getattr(self, name) is not None:
                return name
        return "none"

    def describe(self) -> str:
        """The checker's name, for labels: "exact_string", or "must succeed" without one."""
        name = self.checker()
        return "must succeed" if name == "none" else name

    def checker_dict(self) -> dict[str, Any]:
        return {
            name: getattr(self, name) for name in CHECKER_FIELDS if getattr(self, name) is not None
        }


class TrainTestCase(TestCase):
    """A training's inputs and checker, plus the predictions to run on the version that
    training produced: a training is only good if its result predicts."""

    predictions: list[TestCase] | None = Field(
        None,
        description="Predictions (inputs + checker, as predict test cases) run on the version "
        "this training produced; default the train section's `predictions`, [] for none",
    )

    @model_validator(mode="after")
    def _predictions_need_a_version(self) -> TrainTestCase:
        if self.predictions and self.error_contains is not None:
            raise ValueError(
                "a train test case with error_contains produces no version to run its "
                "predictions on"
            )
        return self


class FuzzConfig(_Strict):
    fixed_inputs: dict[str, InputValue] = Field(
        default_factory=dict, description="Inputs with a fixed value during fuzzing"
    )
    disabled_inputs: list[str] = Field(
        default_factory=list, description="Inputs never sent during fuzzing"
    )
    iterations: int = Field(
        10, ge=0, le=MAX_FUZZ_ITERATIONS, description="How many fuzz predictions to run"
    )
    prompt: str | None = Field(None, description="Extra guidance for the AI input generator")
    duration: int | None = Field(None, description="Deprecated in the seed tool; ignored")

    @model_validator(mode="after")
    def _fixed_not_disabled(self) -> FuzzConfig:
        overlap = sorted(set(self.fixed_inputs) & set(self.disabled_inputs))
        if overlap:
            raise ValueError(f"inputs both fixed and disabled for fuzzing: {', '.join(overlap)}")
        return self


class PredictConfig(_Strict):
    compare_outputs: bool = Field(True, description="Compare outputs with the live version")
    predict_timeout: int = Field(
        DEFAULT_PREDICT_TIMEOUT, gt=0, le=MAX_TIMEOUT, description="Seconds per prediction"
    )
    test_cases: list[TestCase] = Field(
        default_factory=list,
        description="Inputs and checkers; the first is used to compare outputs",
    )
    fuzz: FuzzConfig | None = Field(None, description="Generated inputs that must not fail")
    compare_inputs: int = Field(
        DEFAULT_COMPARE_INPUTS,
        ge=1,
        le=MAX_COMPARE_INPUTS,
        description="Inputs run on both the live and the test version and compared: the first "
        "test case expected to succeed, required inputs only (every default in play), then "
        "fuzz inputs",
    )
    fail_on_preexisting: bool = Field(
        False,
        description="Block the push when an input that fails on the test version fails on the "
        "live version too (a pre-existing failure); by default that is a warning",
    )
    max_slowdown: float = Field(
        DEFAULT_MAX_SLOWDOWN,
        gt=1,
        le=1000,
        description="Warn when the test version's median prediction time on the compared inputs "
        "is at least this many times the live version's (needs 3 pairs)",
    )
    fail_on_slowdown: bool = Field(
        False, description="Block the push on such a slowdown instead of warning"
    )

    @model_validator(mode="before")
    @classmethod
    def _no_trained_predictions(cls, data: Any) -> Any:
        """`predictions` runs on a trained version: say where it belongs, not just "unknown"."""
        cases = data.get("test_cases") if isinstance(data, dict) else None
        for index, case in enumerate(cases if isinstance(cases, list) else [], start=1):
            if isinstance(case, dict) and "predictions" in case:
                raise ValueError(
                    f"predict test case {index} has 'predictions', which only a train test "
                    "case takes (they run on the version its training produced)"
                )
        return data


class TrainConfig(_Strict):
    destination: str | None = Field(
        None, description="Model that receives trained versions; default <test_model>-dest"
    )
    destination_hardware: str = Field("cpu", description="Hardware of a created destination")
    train_timeout: int = Field(
        DEFAULT_PREDICT_TIMEOUT, gt=0, le=MAX_TIMEOUT, description="Seconds per training"
    )
    test_cases: list[TrainTestCase] = Field(
        default_factory=list,
        description="Training inputs and checkers, each with predictions on its trained version",
    )
    fuzz: FuzzConfig | None = Field(
        None, description="Generated training inputs that must not fail"
    )
    predictions: list[TestCase] = Field(
        default_factory=list,
        description="Predictions run on the trained version of every train test case that "
        "names none of its own",
    )

    def trained_predictions(self) -> tuple[tuple[TestCase, ...], ...]:
        """Per test case, the predictions on its trained version: its own, else the
        section's; none for a case that expects the training to fail (no version)."""
        return tuple(
            ()
            if case.error_contains is not None
            else tuple(self.predictions if case.predictions is None else case.predictions)
            for case in self.test_cases
        )


class DeploymentConfig(_Strict):
    owner: str | None = Field(None, description="Deployment owner; default the model's owner")
    name: str | None = Field(None, description="Deployment name")
    hardware: str | None = Field(None, description="Hardware; default cpu")
    min_instances: int | None = Field(
        None, ge=0, description="Minimum instances of a new deployment (cpu 1, gpu 0)"
    )
    max_instances: int | None = Field(
        None, ge=0, description="Maximum instances of a new deployment (cpu 20, gpu 2)"
    )


class Config(_Strict):
    model: str = Field(description="Model to push, <owner>/<name>")
    test_model: str | None = Field(None, description="Model to test on; default <model>-test")
    test_hardware: str = Field("cpu", description="Hardware of a created test model")
    parallel: int = Field(4, ge=1, le=64, description="Concurrent predictions")
    dockerfile: str | None = Field(None, description="Dockerfile for cog push (--dockerfile)")
    fast_push: bool = Field(False, description="Push with cog's --x-fast")
    use_cog_base_image: bool = Field(True, description="false: cog push --use-cog-base-image=false")
    ignore_schema_compatibility: bool = Field(
        False, description="Warn instead of failing on a backwards-incompatible schema"
    )
    official_model: str | None = Field(
        None, description="Official model that --push-official-model pushes to"
    )
    deployment: DeploymentConfig | None = Field(
        None, description="Replicate deployment to point at the pushed version"
    )
    predict: PredictConfig | None = Field(None, description="Prediction checks")
    train: TrainConfig | None = Field(None, description="Training checks")

    @property
    def resolved_test_model(self) -> str:
        return self.test_model or f"{self.model}-test"

    @property
    def resolved_destination(self) -> str:
        if self.train and self.train.destination:
            return self.train.destination
        return f"{self.resolved_test_model}-dest"

    @property
    def modes(self) -> list[ModeName]:
        """What a run checks, in order: training if configured, then prediction if configured
        or if nothing is (a config without either section checks predictions)."""
        return (["train"] if self.train else []) + (
            ["predict"] if self.predict or not self.train else []
        )

    def mode(self, name: ModeName) -> ModeView:
        """The settings of one mode, so that no caller has to ask which mode it is in."""
        if name == "train":
            train = self.train or TrainConfig()
            return ModeView(
                name="train",
                train=True,
                prefix="train ",
                timeout=float(train.train_timeout),
                fuzz=train.fuzz or FuzzConfig(iterations=0),
                test_cases=tuple(train.test_cases),
                destination=self.resolved_destination,
                destination_hardware=train.destination_hardware,
                # A training writes a version into its destination: no live twin is run for
                # comparison or to tell a pre-existing failure from a regression.
                compare_outputs=False,
                trained_predictions=train.trained_predictions(),
                trained_timeout=float(
                    self.predict.predict_timeout if self.predict else DEFAULT_PREDICT_TIMEOUT
                ),
            )
        predict = self.predict or PredictConfig()
        return ModeView(
            name="predict",
            train=False,
            prefix="",
            timeout=float(predict.predict_timeout),
            fuzz=predict.fuzz or FuzzConfig(iterations=0),
            test_cases=tuple(predict.test_cases),
            destination=None,
            destination_hardware=None,
            compare_outputs=predict.compare_outputs,
            compare_inputs=predict.compare_inputs,
            differential=True,
            fail_on_preexisting=predict.fail_on_preexisting,
            max_slowdown=predict.max_slowdown,
            fail_on_slowdown=predict.fail_on_slowdown,
        )

    @property
    def views(self) -> list[ModeView]:
        """The modes a run checks, in order, as views."""
        return [self.mode(name) for name in self.modes]

    def push_options(self) -> PushOptions:
        return PushOptions(
            dockerfile=self.dockerfile,
            fast_push=self.fast_push,
            use_cog_base_image=self.use_cog_base_image,
        )

    def deployment_spec(self) -> DeploymentSpec | None:
        """The Replicate deployment to update after a push, or None when none is named."""
        dep = self.deployment
        if dep is None or not dep.name:
            return None
        return DeploymentSpec(
            owner=dep.owner or self.model.split("/")[0],
            name=dep.name,
            hardware=dep.hardware or "cpu",
            min_instances=dep.min_instances,
            max_instances=dep.max_instances,
        )


ModeName = Literal["predict", "train"]


@dataclass(frozen=True)
class ModeView:
    """One mode (predict or train) of a run, resolved: what the stages of that mode need.

    Built by `Config.mode`; the stages read its fields instead of branching on the mode.
    """

    name: ModeName
    train: bool  # trainings (into `destination`) rather than predictions
    prefix: str  # stage and label prefix: "train " or ""
    timeout: float  # seconds per prediction or training
    fuzz: FuzzConfig
    test_cases: tuple[TestCase, ...]
    destination: str | None  # where trainings write their versions
    destination_hardware: str | None
    compare_outputs: bool  # run the same inputs on the live version and compare
    compare_inputs: int = DEFAULT_COMPARE_INPUTS  # how many inputs both versions run
    differential: bool = False  # failures are rerun on the live version (predictions only)
    fail_on_preexisting: bool = False
    max_slowdown: float = DEFAULT_MAX_SLOWDOWN
    fail_on_slowdown: bool = False
    # Train mode: per test case, the predictions to run on the version its training produced,
    # and the seconds each may take (the predict section's predict_timeout).
    trained_predictions: tuple[tuple[TestCase, ...], ...] = ()
    trained_timeout: float = float(DEFAULT_PREDICT_TIMEOUT)

    def stage(self, name: str) -> str:
        """A stage's name in this mode: "fuzz", or "train fuzz"."""
        return self.prefix + name

    @property
    def inputs_component(self) -> str:
        return "TrainingInput" if self.train else "Input"

    def on_trained_versions(self) -> ModeView:
        """The view predictions on a trained version run under: predictions (no
        destination), each with the predict timeout."""
        return replace(
            self,
            train=False,
            timeout=self.trained_timeout,
            destination=None,
            destination_hardware=None,
            trained_predictions=(),
        )


def check_names(config: Config) -> None:
    """Model names are checked before any side effect, not at load time, so that the
    --help-config template (full of <placeholders>) still loads."""
    for label, value in (
        ("model", config.model),
        ("test_model", config.test_model),
        ("official_model", config.official_model),
        ("train.destination", config.train.destination if config.train else None),
    ):
        if value is not None:
            check_model_name(value, label)
    check_model_name(config.resolved_test_model, "test_model (model + '-test')")
    if config.resolved_test_model == config.model:
        raise UsageError("test_model must differ from model: tests never run on the live model")
    if config.train is not None:
        destination = config.resolved_destination
        check_model_name(destination, "train.destination")
        for label, other in (
            ("model", config.model),
            ("test_model", config.resolved_test_model),
            ("official_model", config.official_model),
        ):
            if destination == other:
                raise UsageError(
                    f"train.destination must differ from {label} ({other}): trainings write "
                    "new versions into it"
                )
    spec = config.deployment_spec()
    if spec is not None:
        check_model_name(f"{spec.owner}/{spec.name}", "deployment owner/name")


def check_model_name(value: str, label: str = "model") -> str:
    return check_ref(value, label)


def _describe_validation_error(exc: ValidationError, source: str) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "(top level)"
    if first["type"] == "extra_forbidden":
        return f"{source}: unknown field '{where}'"
    message = first["msg"].removeprefix("Value error, ")
    more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
    return f"{source}: {where}: {message}{more}"


def config_from_dict(data: Any, source: str = "config") -> Config:
    if not isinstance(data, dict):
        raise UsageError(f"{source}: expected a mapping at the top level")
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise UsageError(_describe_validation_error(exc, source)) from None


def load_config(path: str | Path) -> Config:
    path = Path(path)
    if not path.exists():
        raise UsageError(f"config file not found: {path}")
    return config_from_dict(load_yaml(path), str(path))


def parse_value(text: str) -> Any:
    """true/false (any letter case) -> bool, numbers -> int/float, everything else a string."""
    if text.lower() == "true":
        return True
    if text.lower() == "false":
        return False
    if re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    if re.fullmatch(r"[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?", text):
        return float(text)
    return text


def parse_inputs(text: str) -> dict[str, Any]:
    """'<k1>=<v1>;<k2>=<v2>' -> {k1: v1, k2: v2}; empty text -> {}.

    A value keeps any '=' after its first one, and a part with no '=' at all continues the
    value before it ('prompt=Hi; how are you?' is one prompt): the seed tool fails on both,
    and a prompt with a semicolon is common.
    """
    pairs: list[list[str]] = []
    for part in text.split(";"):
        if "=" in part:
            key, value = part.split("=", 1)
            if not key.strip():
                raise UsageError(f"empty input name in {part.strip()!r}")
            pairs.append([key.strip(), value])
        elif pairs:
            pairs[-1][1] += ";" + part
        elif part.strip():
            raise UsageError(f"expected <key>=<value>, got {part.strip()!r}")
    return {key: parse_value(value.strip()) for key, value in pairs}


def parse_disabled_inputs(text: str) -> list[str]:
    return [key.strip() for key in text.split(";") if key.strip()]


def split_test_case(text: str) -> tuple[str, str | None, str]:
    """(inputs text, operator or None, expectation): split at the first '==' or '~=',
    whichever comes first, as the seed tool does; the expectation may hold either."""
    found = [(text.find(op), op) for op in ("==", "~=") if op in text]
    if not found:
        return text, None, ""
    at, op = min(found)
    return text[:at], op, text[at + 2 :]


def parse_test_case(text: str) -> TestCase:
    """'<k>=<v>;...[==<exact string or URL> | ~=<AI prompt>]' as the seed tool reads it."""
    inputs_text, op, expected = split_test_case(text)
    inputs = parse_inputs(inputs_text)
    expected = expected.strip()
    if op is None:
        return TestCase(inputs=inputs)
    if op == "~=":
        if not expected:
            raise UsageError(f"--test-case {text!r}: '~=' needs a prompt for the AI after it")
        return TestCase(inputs=inputs, match_prompt=expected)
    if expected.startswith(("http://", "https://")):
        return TestCase(inputs=inputs, match_url=expected)
    return TestCase(inputs=inputs, exact_string=expected)


HELP_CONFIG = """\
# cog-safe-push --help-config
model: <model>
test_model: <test model, or empty to append '-test' to model>
test_hardware: <hardware, e.g. cpu>
parallel: 4
# dockerfile: <path to a Dockerfile for cog push>
fast_push: false
use_cog_base_image: true
ignore_schema_compatibility: false
# official_model: <owner/name of the official model, for --push-official-model>
# deployment:
#   owner: <deployment owner, default the model's owner>
#   name: <deployment name>
#   hardware: <hardware, e.g. cpu>
predict:
  compare_outputs: true
  compare_inputs: 3
  fail_on_preexisting: false
  max_slowdown: 2.0
  fail_on_slowdown: false
  predict_timeout: 300
  test_cases:
  - inputs:
      <input1>: <value1>
    exact_string: <exact string match>
  - inputs:
      <input2>: <value2>
    match_url: <match output image against url>
  - inputs:
      <input3>: <value3>
    match_prompt: <match output using AI prompt, e.g. 'an image of a cat'>
  - inputs:
      <input4>: <value4>
    jq_query: <jq expression that must be truthy, e.g. '.score > 0.5'>
  - inputs:
      <input5>: <value5>
    error_contains: <a string the prediction's error must contain>
  fuzz:
    fixed_inputs: {}
    disabled_inputs: []
    iterations: 10
    # prompt: <extra guidance for the AI that writes fuzz inputs>
train:
  destination: <generated prediction model, e.g. andreasjansson/test-predict. leave blank to append '-dest' to the test model>
  destination_hardware: <hardware for the created prediction model, e.g. cpu>
  train_timeout: 300
  test_cases:
  - inputs:
      <input1>: <value1>
    exact_string: <exact string match>
    # predictions run on the version this training produced (default: train.predictions)
    predictions:
    - inputs:
        <predict input1>: <value1>
      exact_string: <exact string match>
  fuzz:
    fixed_inputs: {}
    disabled_inputs: []
    iterations: 10
  # predictions run on the trained version of every test case that names none of its own
  predictions:
  - inputs:
      <predict input1>: <value1>

# values between < and > should be edited
#
# Several variants of a model (sizes, hardware, fine-tunes): one file like this per variant,
# each with its own model, checked at once with `--config configs/` (or --config repeated);
# nothing is pushed unless every variant passes (--push-passed-variants: each that passed).
#
# The AI (match_prompt, AI fuzzing, judging outputs) is not part of this file: it runs on
# Anthropic's API with ANTHROPIC_API_KEY, or on Claude hosted on Replicate with
# REPLICATE_API_TOKEN (--ai-provider replicate, or COG_SAFE_PUSH_AI_PROVIDER=replicate; the
# default on the replicate platform when no Anthropic key is set).
"""


def help_config_template() -> str:
    """The --help-config text. The <placeholders> keep it loadable; test asserts that."""
    return HELP_CONFIG
