"""Predictions on trained versions, as pure logic: the config's shape, finding the version a
training produced on either platform, the training's verdict, and how the report shows it."""

from __future__ import annotations

import pytest
import yaml

from tasks.core.bounded import OUTPUT_LIMIT, is_cut
from tasks.core.config import (
    DEFAULT_PREDICT_TIMEOUT,
    TestCase,
    TrainTestCase,
    config_from_dict,
    help_config_template,
)
from tasks.core.errors import UsageError
from tasks.core.job import Job
from tasks.core.options import RunOptions
from tasks.core.platform_data import PlatformSpec, RunResult
from tasks.core.results import PredictionRecord, StageResult, stage_from_records
from tasks.outputs.trained import (
    judged_training,
    not_run,
    refused_inputs,
    short_version,
    trained_label,
    trained_version,
    version_ref,
    why_not_run,
)
from tasks.report.render import build_report, failure_bullets, junit_xml, prediction_rows

DEST = "acme/tr-dest"
VERSION = "f" * 64


def config(train: dict, **top) -> dict:
    return {"model": "acme/tr", "train": {"destination": DEST, **train}, **top}


# --- the config ----------------------------------------------------------------------------


def test_a_train_case_names_its_own_predictions_or_takes_the_sections():
    loaded = config_from_dict(
        config(
            {
                "test_cases": [
                    {"inputs": {"steps": 1}, "predictions": [{"inputs": {"name": "Bo"}}]},
                    {"inputs": {"steps": 2}},  # none of its own: the section's
                    {"inputs": {"steps": 3}, "predictions": []},  # explicitly none
                    {"inputs": {"steps": 99}, "error_contains": "steps"},  # makes no version
                ],
                "predictions": [{"inputs": {"name": "Ada"}, "exact_string": "Hi, Ada!"}],
            },
            predict={"predict_timeout": 42},
        )
    )
    assert isinstance(loaded.train.test_cases[0], TrainTestCase)
    view = loaded.mode("train")
    own, section, none, expected_error = view.trained_predictions
    assert own == (TestCase(inputs={"name": "Bo"}),)
    assert section == (TestCase(inputs={"name": "Ada"}, exact_string="Hi, Ada!"),)
    assert none == () and expected_error == ()
    assert view.trained_timeout == 42.0
    trained = view.on_trained_versions()  # what the predictions run under
    assert (trained.timeout, trained.destination, trained.train) == (42.0, None, False)
    # the checker set is a predict test case's
    assert section[0].describe() == "exact_string"


def test_without_a_predict_section_predictions_on_trained_versions_get_the_default_timeout():
    loaded = config_from_dict(config({"predictions": [{"inputs": {"name": "Ada"}}]}))
    assert loaded.mode("train").trained_timeout == float(DEFAULT_PREDICT_TIMEOUT)
    assert loaded.mode("train").trained_predictions == ()  # no test cases, nothing to run
    assert loaded.mode("predict").trained_predictions == ()


def test_a_predict_test_case_refuses_predictions_in_one_line():
    with pytest.raises(UsageError) as raised:
        config_from_dict(
            {
                "model": "acme/tr",
                "predict": {
                    "test_cases": [
                        {"inputs": {"name": "Ada"}},
                        {"inputs": {"name": "Bo"}, "predictions": [{"inputs": {}}]},
                    ]
                },
            },
            "cog-safe-push.yaml",
        )
    message = str(raised.value)
    assert raised.value.exit_code == 2 and "\n" not in message
    assert message.startswith("cog-safe-push.yaml: predict: predict test case 2 has 'predictions'")
    assert "only a train test case takes" in message


@pytest.mark.parametrize(
    "case, fragment",
    [
        # a prediction is a test case: it has no predictions of its own
        (
            {"inputs": {}, "predictions": [{"inputs": {}, "predictions": []}]},
            "unknown field 'train.test_cases.0.predictions.0.predictions'",
        ),
        (
            {"inputs": {}, "predictions": [{"exact_string": "a", "jq_query": "."}]},
            "at most one of",
        ),
        (
            {"inputs": {}, "error_contains": "x", "predictions": [{"inputs": {}}]},
            "produces no version to run its predictions on",
        ),
        ({"inputs": {}, "predictions": [{"inputs": {}, "shiny": 1}]}, "unknown field"),
    ],
)
def test_bad_trained_predictions_are_usage_errors(case, fragment):
    with pytest.raises(UsageError) as raised:
        config_from_dict(config({"test_cases": [case]}))
    assert fragment in str(raised.value)


def test_the_section_refuses_unknown_fields_in_its_predictions():
    with pytest.raises(UsageError, match="unknown field 'train.predictions.0.colour'"):
        config_from_dict(config({"predictions": [{"inputs": {}, "colour": "red"}]}))


def test_the_config_survives_the_command_lines_round_trip():
    """flows.cli applies flags to `config.model_dump()` and validates it again."""
    loaded = config_from_dict(
        config(
            {
                "test_cases": [{"inputs": {"steps": 1}, "predictions": [{"inputs": {"n": 1}}]}],
                "predictions": [{"inputs": {"n": 2}}],
            }
        )
    )
    again = config_from_dict(loaded.model_dump())
    assert again == loaded
    assert again.mode("train").trained_predictions == loaded.mode("train").trained_predictions


def test_help_config_shows_and_loads_the_new_fields():
    text = help_config_template()
    train = yaml.safe_load(text)["train"]
    assert train["test_cases"][0]["predictions"][0]["inputs"]
    assert train["predictions"][0]["inputs"]
    loaded = config_from_dict(yaml.safe_load(text))
    assert loaded.mode("train").trained_predictions[0][0].checker() == "exact_string"


def test_a_match_prompt_on_a_trained_version_needs_the_ai():
    def job(train: dict) -> Job:
        return Job(
            config=config_from_dict(config(train)),
            options=RunOptions(fuzz_generator="schema"),
            spec=PlatformSpec("local"),
            cog_dir=".",
        )

    plain = {"test_cases": [{"inputs": {}}]}
    assert not job(plain).needs_ai()
    assert job({**plain, "predictions": [{"inputs": {}, "match_prompt": "a greeting"}]}).needs_ai()
    own = {"test_cases": [{"inputs": {}, "predictions": [{"inputs": {}, "match_prompt": "x"}]}]}
    assert job(own).needs_ai()


# --- the trained version, from what either platform returns -----------------------------


def training(status="succeeded", output=None, remote=None, metrics=None) -> RunResult:
    return RunResult(
        id="t1",
        status=status,
        output=output,
        remote_output=output if remote is None else remote,
        metrics=metrics or {},
    )


def test_the_local_platform_names_the_trained_version_in_its_metrics():
    local = training(
        output={"weights": "file:///registry/outputs/t1/weights.json"},
        metrics={"destination_version": VERSION, "predict_time": 0.1},
    )
    assert trained_version(local, DEST) == f"{DEST}:{VERSION}"


def test_replicate_names_the_trained_version_in_its_output():
    remote = {"version": f"{DEST}:{VERSION}", "weights": "https://replicate.delivery/w.tar"}
    localized = {"version": f"{DEST}:{VERSION}", "weights": "file:///home/out/w.tar"}
    result = training(output=localized, remote=remote, metrics={"predict_time": 3.2})
    assert trained_version(result, DEST) == f"{DEST}:{VERSION}"


@pytest.mark.parametrize(
    "value, expected",
    [
        (f"{DEST}:abc123", f"{DEST}:abc123"),
        (f"r8.im/{DEST}:abc123", f"{DEST}:abc123"),
        ("abc123", f"{DEST}:abc123"),  # a bare id: a version of the destination
        ("ACME/tr-dest:abc123", "ACME/tr-dest:abc123"),  # names are not case-sensitive
        ("acme/other:abc123", None),  # a training writes into its destination, nowhere else
        (f"{DEST}:", None),
        (f"{DEST}:has space", None),
        ("", None),
        (None, None),
        (42, None),
        ({"id": "abc"}, None),
    ],
)
def test_a_version_is_read_only_when_it_is_one_of_the_destination(value, expected):
    assert version_ref(value, DEST) == expected


def test_no_version_for_a_failed_training_or_one_that_names_none():
    named = {"version": f"{DEST}:{VERSION}"}
    assert trained_version(training("failed", output=named), DEST) is None
    assert trained_version(training(output={"weights": "w"}), DEST) is None
    assert trained_version(training(output="just a string"), DEST) is None
    assert trained_version(training(output=None), DEST) is None
    # the platform's own output wins over a local copy that lost the field
    assert trained_version(training(output={}, remote=named), DEST) == f"{DEST}:{VERSION}"


# --- the training's verdict -----------------------------------------------------------------

STAGE = "train test cases"
CASE = TestCase(inputs={"name": "Ada"}, exact_string="Howdy, Ada!")


def trained_record(verdict="passed", status="succeeded", message="jq query is truthy", **kw):
    return PredictionRecord(
        STAGE,
        "train test case 1 (jq_query)",
        {"greeting": "Howdy"},
        verdict,
        status,
        message=message,
        url="https://replicate.com/p/t1",
        **{"trained_version": f"{DEST}:{VERSION}", **kw},
    )


def on_trained(
    number=1, verdict="passed", message="output matches", output="Howdy, Ada!", case_number=1
):
    return PredictionRecord(
        STAGE,
        trained_label("train ", case_number, number, CASE),
        {"name": "Ada"},
        verdict,
        "succeeded",
        message=message,
        output=output,
        version=VERSION,
        url=f"https://replicate.com/p/p{number}",
    )


def test_labels_name_the_training_and_the_prediction():
    assert trained_label("train ", 1, 2, CASE) == "train test case 1 → prediction 2 (exact_string)"
    assert (
        trained_label("train ", 3, 1, TestCase())
        == "train test case 3 → prediction 1 (must succeed)"
    )
    assert short_version(f"{DEST}:{VERSION}") == f"{DEST}:{VERSION[:12]}"


def test_passing_predictions_keep_the_training_passing():
    judged = judged_training(trained_record(), [on_trained(1), on_trained(2)])
    assert judged.verdict == "passed"
    assert judged.message == (
        f"jq query is truthy; 2 prediction(s) on the trained version {DEST}:{VERSION[:12]} passed"
    )
    assert [p.label for p in judged.trained_predictions] == [
        "train test case 1 → prediction 1 (exact_string)",
        "train test case 1 → prediction 2 (exact_string)",
    ]


def test_one_failed_prediction_fails_the_training_and_says_which_where_and_why():
    failed = on_trained(2, "failed", 'expected "Howdy, Ada!", got "Hello, Ada!"', "Hello, Ada!")
    judged = judged_training(trained_record(), [on_trained(1), failed])
    assert judged.verdict == "failed"
    assert judged.message == (
        f"prediction 2 (exact_string) on the trained version {DEST}:{VERSION[:12]} failed: "
        'expected "Howdy, Ada!", got "Hello, Ada!"'
    )
    stage = stage_from_records(STAGE, [judged], 1.0)
    assert stage.failed and "prediction 2 (exact_string) on the trained version" in stage.error


def test_every_failed_prediction_is_named():
    refused = refused_inputs(
        STAGE, on_trained(2).label, {"colour": "red"}, ["name"], f"{DEST}:{VERSION}"
    )
    assert refused is not None and refused.verdict == "failed" and refused.status == "not run"
    assert refused.message == (
        "sends colour, which the trained version does not take; its inputs are: name"
    )
    assert refused_inputs(STAGE, "x", {"name": "Ada"}, ["name"], f"{DEST}:{VERSION}") is None
    judged = judged_training(trained_record(), [on_trained(1, "failed", "wrong"), refused])
    assert judged.message.endswith(
        "failed: wrong; prediction 2 (exact_string) failed too: sends colour, which the "
        "trained version does not take; its inputs are: name"
    )


def test_a_training_that_names_no_version_fails_when_predictions_were_asked_for():
    nameless = trained_record(trained_version=None)
    assert why_not_run(nameless) == "not run: no trained version was found"
    skipped = not_run(STAGE, on_trained().label, {"name": "Ada"}, why_not_run(nameless))
    judged = judged_training(nameless, [skipped])
    assert judged.verdict == "failed" and "name the version it produced" in judged.message
    assert judged_training(nameless, []).verdict == "passed"  # none asked: nothing to run


def test_a_failed_training_keeps_its_own_verdict_and_runs_nothing():
    failed = trained_record("failed", "failed", "error: diverged", trained_version=None)
    assert why_not_run(failed) == "not run: the training failed"
    skipped = not_run(STAGE, on_trained().label, {"name": "Ada"}, why_not_run(failed))
    judged = judged_training(failed, [skipped])
    assert (judged.verdict, judged.message) == ("failed", "error: diverged")
    assert judged.trained_predictions[0].verdict == "skipped"


def test_predictions_stopped_early_leave_the_training_unfinished():
    stopped = on_trained(1, "skipped", "not started: --fail-fast after fuzz 2 failed")
    judged = judged_training(trained_record(), [stopped])
    assert judged.verdict == "skipped" and "did not run" in judged.message


def test_an_unverified_prediction_makes_the_training_unverified_not_failed():
    doubt = on_trained(1, "unverified", "the AI could not decide")
    judged = judged_training(trained_record(), [doubt])
    assert judged.verdict == "unverified"
    assert stage_from_records(STAGE, [judged], 0.0).status == "warning"


def test_the_predictions_are_kept_bounded():
    big = on_trained(1, output="x" * (OUTPUT_LIMIT + 10))
    judged = judged_training(trained_record(), [big])
    assert is_cut(judged.trained_predictions[0].output)


# --- the report -----------------------------------------------------------------------------


def report_with(*records: PredictionRecord) -> dict:
    stages = [StageResult(STAGE, "failed", "x", (), records), StageResult("fuzz", "passed")]
    return build_report(
        status="failed",
        pushed=False,
        version="v",
        stages=stages,
        model="acme/tr",
        test_model="acme/tr-test",
        platform="replicate",
    )


def test_the_table_shows_a_training_followed_by_its_predictions_failed_first():
    failed = on_trained(1, "failed", "wrong", "Hello, Ada!")
    bad = judged_training(trained_record(), [failed, on_trained(2)])
    good = judged_training(
        PredictionRecord(
            STAGE,
            "train test case 2 (must succeed)",
            {},
            "passed",
            "succeeded",
            trained_version=f"{DEST}:{'e' * 64}",
        ),
        [on_trained(1, case_number=2)],
    )
    rows = prediction_rows(report_with(good, bad))
    assert [(row["name"], row["verdict"]) for row in rows] == [
        ("train test case 1 (jq_query)", "failed"),
        ("train test case 1 → prediction 1 (exact_string)", "failed"),
        ("train test case 1 → prediction 2 (exact_string)", "passed"),
        ("train test case 2 (must succeed)", "passed"),
        ("train test case 2 → prediction 1 (exact_string)", "passed"),
    ]


def test_one_failure_line_names_the_training_and_links_its_failed_prediction():
    failed = on_trained(1, "failed", "wrong", "Hello, Ada!")
    report = report_with(judged_training(trained_record(), [failed, on_trained(2)]))
    (line,) = failure_bullets(report)
    assert "[train test cases / train test case 1 (jq_query)](<https://replicate.com/p/t1>)" in line
    assert "[train test case 1 → prediction 1 (exact_string)](<https://replicate.com/p/p1>)" in line
    assert "prediction 2" not in line.split(":", 2)[0]  # a passing one is not linked
    assert "on the trained version" in line


def test_junit_lists_the_predictions_on_a_trained_version_after_their_training():
    from xml.etree import ElementTree as ET

    failed = on_trained(1, "failed", "wrong", "Hello, Ada!")
    xml = junit_xml(report_with(judged_training(trained_record(), [failed])))
    suite = ET.fromstring(xml.split("?>", 1)[1]).find("testsuite")
    cases = [(case.get("name"), case.find("failure") is not None) for case in suite]
    assert cases == [
        (STAGE, True),
        ("train test case 1 (jq_query)", True),
        ("train test case 1 → prediction 1 (exact_string)", True),
    ]


# --- checked before anything runs, and part of the reused verdict ----------------------------


def _job(train: dict, cog_dir: str = ".") -> Job:
    return Job(
        config=config_from_dict(config(train)),
        options=RunOptions(fuzz_generator="schema"),
        spec=PlatformSpec("local"),
        cog_dir=cog_dir,
    )


def test_a_broken_checker_on_a_trained_version_is_bad_input_before_anything_runs():
    from tasks.core.usage_checks import local_problems

    broken = {"inputs": {}, "jq_query": "this is not jq ("}
    problems = local_problems(
        _job({"test_cases": [{"inputs": {}, "predictions": [{"inputs": {}}, broken]}]})
    )
    assert any("test case 1, prediction 2 on the trained version" in p for p in problems)
    fine = local_problems(_job({"test_cases": [{"inputs": {}, "predictions": [{"inputs": {}}]}]}))
    assert not any("trained version" in p for p in fine)


def test_a_changed_file_named_by_a_trained_prediction_is_checked_anew(tmp_path):
    from tasks.verdicts import verdict_material

    image = tmp_path / "face.png"
    image.write_bytes(b"one")
    train = {"test_cases": [{"inputs": {}, "predictions": [{"inputs": {"image": str(image)}}]}]}
    before = verdict_material(_job(train), "train", "digest", None)
    image.write_bytes(b"two")
    after = verdict_material(_job(train), "train", "digest", None)
    assert before is not None and after is not None and before["files"] != after["files"]
