"""The config file format and the command-line syntaxes (pure: no flow runs here)."""

from __future__ import annotations

import pytest
import yaml

from flows.cli import build_parser, parse_args
from tasks.core.config import (
    Config,
    check_names,
    help_config_template,
    load_config,
    parse_inputs,
    parse_test_case,
    parse_value,
)
from tasks.core.errors import UsageError

FULL = """
model: acme/hello
test_model: acme/hello-staging
test_hardware: gpu-t4
parallel: 8
dockerfile: Dockerfile.gpu
fast_push: true
use_cog_base_image: false
ignore_schema_compatibility: true
official_model: acme-official/hello
deployment:
  owner: acme-prod
  name: hello-dep
  hardware: gpu-a40-small
  min_instances: 1
  max_instances: 3
predict:
  compare_outputs: false
  predict_timeout: 45
  test_cases:
    - inputs: {name: Ada}
      exact_string: "Hello, Ada!"
    - inputs: {name: Bob}
      match_url: https://example.com/bob.png
    - inputs: {name: Cy}
      match_prompt: a greeting
    - inputs: {name: Di}
      jq_query: '. | length > 3'
    - inputs: {repeat: 9}
      error_contains: repeat
    - inputs: {name: Ed}
  fuzz:
    fixed_inputs: {punctuation: "!"}
    disabled_inputs: [seed]
    iterations: 12
    prompt: use long names
train:
  destination: acme/hello-trained
  destination_hardware: gpu-t4
  train_timeout: 600
  test_cases:
    - inputs: {steps: 1}
  fuzz:
    iterations: 2
"""


def write(tmp_path, text: str, name: str = "cog-safe-push.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_every_config_field_loads(tmp_path):
    config = load_config(write(tmp_path, FULL))
    assert config.model == "acme/hello"
    assert config.resolved_test_model == "acme/hello-staging"
    assert (config.test_hardware, config.parallel, config.dockerfile) == (
        "gpu-t4",
        8,
        "Dockerfile.gpu",
    )
    assert config.fast_push is True and config.use_cog_base_image is False
    assert config.ignore_schema_compatibility is True
    assert config.official_model == "acme-official/hello"
    assert config.deployment.owner == "acme-prod" and config.deployment.name == "hello-dep"
    assert config.deployment.hardware == "gpu-a40-small"
    assert (config.deployment.min_instances, config.deployment.max_instances) == (1, 3)
    predict = config.predict
    assert predict.compare_outputs is False and predict.predict_timeout == 45
    checkers = [case.checker() for case in predict.test_cases]
    assert checkers == [
        "exact_string",
        "match_url",
        "match_prompt",
        "jq_query",
        "error_contains",
        "none",
    ]
    assert predict.fuzz.fixed_inputs == {"punctuation": "!"}
    assert predict.fuzz.disabled_inputs == ["seed"]
    assert predict.fuzz.iterations == 12 and predict.fuzz.prompt == "use long names"
    train = config.train
    assert config.resolved_destination == "acme/hello-trained"
    assert train.destination_hardware == "gpu-t4" and train.train_timeout == 600
    assert train.test_cases[0].inputs == {"steps": 1} and train.fuzz.iterations == 2
    check_names(config)


def test_defaults_follow_the_seed_tool(tmp_path):
    config = load_config(write(tmp_path, "model: acme/hello\npredict: {}\ntrain: {}\n"))
    assert config.resolved_test_model == "acme/hello-test"
    assert config.resolved_destination == "acme/hello-test-dest"
    assert config.parallel == 4 and config.test_hardware == "cpu"
    assert config.predict.predict_timeout == 300 and config.predict.compare_outputs is True
    assert config.train.destination_hardware == "cpu" and config.train.train_timeout == 300
    assert config.use_cog_base_image is True and config.fast_push is False


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("model: a/b\nbogus: 1\n", "unknown field 'bogus'"),
        (
            "model: a/b\npredict:\n  fuzz:\n    iteratons: 3\n",
            "unknown field 'predict.fuzz.iteratons'",
        ),
        ("model: a/b\ndeployment: {nme: x}\n", "unknown field 'deployment.nme'"),
        ("model: a/b\nparallel: lots\n", "parallel"),
        ("model: [unclosed\n", "malformed YAML"),
        ("- just\n- a list\n", "expected a mapping"),
        ("test_model: a/b\n", "model"),
        (
            "model: a/b\npredict:\n  test_cases:\n  - inputs: {}\n    exact_string: x\n    match_prompt: y\n",
            "at most one of",
        ),
        (
            "model: a/b\npredict:\n  fuzz:\n    fixed_inputs: {x: 1}\n    disabled_inputs: [x]\n",
            "both fixed and disabled",
        ),
    ],
)
def test_bad_config_is_one_clear_usage_error(tmp_path, text, fragment):
    with pytest.raises(UsageError) as info:
        load_config(write(tmp_path, text))
    message = str(info.value)
    assert fragment in message
    assert "\n" not in message


def test_missing_config_file(tmp_path):
    with pytest.raises(UsageError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")


@pytest.mark.parametrize("name", ["noslash", "a/b/c", "/b", "a/", "a b/c"])
def test_model_names_without_owner_are_rejected(name):
    with pytest.raises(UsageError, match="<owner>/<name>"):
        check_names(Config(model=name))


def test_test_model_must_differ_from_model():
    with pytest.raises(UsageError, match="must differ"):
        check_names(Config(model="a/b", test_model="a/b"))


def test_help_config_loads_without_error(tmp_path):
    text = help_config_template()
    config = load_config(write(tmp_path, text))
    assert config.predict is not None and config.train is not None
    assert {c.checker() for c in config.predict.test_cases} >= {
        "exact_string",
        "match_url",
        "match_prompt",
        "jq_query",
        "error_contains",
    }
    assert yaml.safe_load(text)["parallel"] == 4


@pytest.mark.parametrize(
    "text, value",
    [
        ("true", True),
        ("false", False),
        ("42", 42),
        ("-3", -3),
        ("1.5", 1.5),
        ("1e3", 1000.0),
        ("True", True),
        ("FALSE", False),
        ("tRuE", True),
        ("truey", "truey"),
        ("nan", "nan"),
        ("hello world", "hello world"),
        ("", ""),
        ("007x", "007x"),
    ],
)
def test_parse_value(text, value):
    parsed = parse_value(text)
    assert parsed == value and type(parsed) is type(value)


def test_parse_inputs():
    assert parse_inputs("a=1; b = two ;c=true;d=0.5") == {"a": 1, "b": "two", "c": True, "d": 0.5}
    assert parse_inputs("") == {}
    assert parse_inputs("url=https://x.y/z?q=1") == {"url": "https://x.y/z?q=1"}
    with pytest.raises(UsageError):
        parse_inputs("novalue")


@pytest.mark.parametrize(
    "text, inputs, checker",
    [
        ("prompt=a cat;steps=4==a cat", {"prompt": "a cat", "steps": 4}, ("exact_string", "a cat")),
        ("image=x==https://e.com/o.png", {"image": "x"}, ("match_url", "https://e.com/o.png")),
        ("prompt=dog~=an image of a dog", {"prompt": "dog"}, ("match_prompt", "an image of a dog")),
        ("prompt=dog;n=2", {"prompt": "dog", "n": 2}, ("none", None)),
        # both operators: the first one splits, the rest belongs to the expectation
        (
            "prompt=a cat~=an image where a==b",
            {"prompt": "a cat"},
            ("match_prompt", "an image where a==b"),
        ),
        ("prompt=x==a~=b", {"prompt": "x"}, ("exact_string", "a~=b")),
        ("prompt=x~==y", {"prompt": "x"}, ("match_prompt", "=y")),
        # '=' inside values and expectations
        (
            "eq=1+1=2;url=https://x.y/z?q=1==2",
            {"eq": "1+1=2", "url": "https://x.y/z?q=1"},
            ("exact_string", "2"),
        ),
        ("prompt=a=b", {"prompt": "a=b"}, ("none", None)),
        # ';' inside values and expectations
        (
            "prompt=Hi; how are you?==fine; thanks",
            {"prompt": "Hi; how are you?"},
            ("exact_string", "fine; thanks"),
        ),
        ("prompt=a;b;n=3", {"prompt": "a;b", "n": 3}, ("none", None)),
        # unicode, in keys, values and expectations
        (
            "prompt=café ☕;größe=2==Grüße 👋",
            {"prompt": "café ☕", "größe": 2},
            ("exact_string", "Grüße 👋"),
        ),
        # an empty expectation: the output must be empty
        ("prompt=x==", {"prompt": "x"}, ("exact_string", "")),
        ("==hello", {}, ("exact_string", "hello")),
        # booleans in any letter case, numbers, everything else a string
        (
            "a=True;b=FALSE;c=1.5;d=007x",
            {"a": True, "b": False, "c": 1.5, "d": "007x"},
            ("none", None),
        ),
    ],
)
def test_parse_test_case(text, inputs, checker):
    case = parse_test_case(text)
    assert case.inputs == inputs
    kind, value = checker
    assert case.checker() == kind
    if value is not None:
        assert getattr(case, kind) == value


@pytest.mark.parametrize("text", ["prompt=x~=", "prompt=x~=   ", "novalue==x", "=1==x"])
def test_parse_test_case_refuses(text):
    with pytest.raises(UsageError):
        parse_test_case(text)


def test_every_seed_flag_is_in_the_help():
    help_text = build_parser().format_help()
    for flag in [
        "--config",
        "--help-config",
        "--test-model",
        "--no-push",
        "--test-hardware",
        "--no-compare-outputs",
        "--predict-timeout",
        "--test-case",
        "--fuzz-fixed-inputs",
        "--fuzz-disabled-inputs",
        "--fuzz-iterations",
        "--parallel",
        "--verbose",
        "--fuzz-prompt",
        "--ignore-schema-compatibility",
        "--fast-push",
        "--push-official-model",
        "--platform",
        "--seed",
        "--report-json",
    ]:
        assert flag in help_text, flag


def test_flags_without_config_file(tmp_path):
    request = parse_args(
        [
            "acme/hello",
            "--test-model",
            "acme/hello-t",
            "--test-hardware",
            "gpu-t4",
            "--no-compare-outputs",
            "--predict-timeout",
            "77",
            "--test-case",
            "name=Ada==Hello, Ada!",
            "--test-case",
            "name=Bob~=greets Bob",
            "--fuzz-fixed-inputs",
            "punctuation=!;repeat=2",
            "--fuzz-disabled-inputs",
            "seed;name",
            "--fuzz-iterations",
            "3",
            "--fuzz-prompt",
            "be creative",
            "--parallel",
            "3",
            "--ignore-schema-compatibility",
            "--fast-push",
            "--no-push",
            "--platform",
            "local",
            "--seed",
            "7",
            "--report-json",
            "out.json",
            "--junit-xml",
            "out.xml",
            "--fail-fast",
            "--fuzz-generator",
            "schema",
            "-vv",
        ],
        cwd=str(tmp_path),
    )
    config, options = request.config, request.options
    assert config.model == "acme/hello" and config.test_model == "acme/hello-t"
    assert config.test_hardware == "gpu-t4" and config.parallel == 3
    assert config.fast_push is True and config.ignore_schema_compatibility is True
    predict = config.predict
    assert predict.compare_outputs is False and predict.predict_timeout == 77
    assert [c.checker() for c in predict.test_cases] == ["exact_string", "match_prompt"]
    assert predict.fuzz.fixed_inputs == {"punctuation": "!", "repeat": 2}
    assert predict.fuzz.disabled_inputs == ["seed", "name"]
    assert predict.fuzz.iterations == 3 and predict.fuzz.prompt == "be creative"
    assert options.no_push and options.platform == "local" and options.seed == 7
    assert options.report_json == "out.json" and options.junit_xml == "out.xml"
    assert options.fail_fast and options.fuzz_generator == "schema" and options.verbose == 2


def test_flags_override_the_config_file(tmp_path):
    write(tmp_path, FULL)
    request = parse_args(
        ["--parallel", "2", "--fuzz-iterations", "1", "--predict-timeout", "9", "other/model"],
        cwd=str(tmp_path),
    )
    config = request.config
    assert config.model == "other/model"
    assert config.parallel == 2
    assert config.predict.fuzz.iterations == 1 and config.predict.predict_timeout == 9
    # untouched fields keep the file's values
    assert config.predict.fuzz.prompt == "use long names"
    assert len(config.predict.test_cases) == 6


def test_explicit_config_path(tmp_path):
    path = write(tmp_path, "model: acme/other\n", name="custom.yaml")
    request = parse_args(["--config", str(path)], cwd=str(tmp_path / "elsewhere"))
    assert request.config.model == "acme/other"


def test_flags_recheck_cross_field_rules(tmp_path):
    with pytest.raises(UsageError, match="both fixed and disabled"):
        parse_args(
            ["a/b", "--fuzz-fixed-inputs", "x=1", "--fuzz-disabled-inputs", "x"], cwd=str(tmp_path)
        )


@pytest.mark.parametrize(
    "argv, fragment",
    [
        ([], "no model given"),
        (["a/b", "--parallel", "0"], "--parallel must be positive"),
        (["a/b", "--parallel", "many"], "invalid int value"),
        (["a/b", "--platform", "docker"], "invalid choice"),
        (["a/b", "-vvvv"], "maximum of 3"),
        (["a/b", "--test-case", "novalue"], "expected <key>=<value>"),
        (["a/b", "--unknown-flag"], "unrecognized arguments"),
    ],
)
def test_bad_flags_are_usage_errors(tmp_path, argv, fragment):
    with pytest.raises(UsageError, match=fragment.replace("-", "\\-")):
        parse_args(argv, cwd=str(tmp_path))
