"""Variants, their pure parts: which files, names, what may run side by side, the push gate,
the shared budget, one report; and the command line and deployments that take them."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import yaml

from deployments.serve import (
    ServeSettings,
    build_deployments,
    build_parser,
    describe,
    settings_from_args,
)
from flows.cli import parse_args
from flows.push_gate import PushGate
from tasks.core.budget import Budget, budget_slot, shared_budget
from tasks.core.errors import UsageError
from tasks.core.variants import check_variants, config_paths, load_variants, variant_names
from tasks.report.variants import combine, overall, variants_markdown, verdict


def write(path: Path, model: str, **extra: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({"model": model, **extra}))
    return path


@pytest.fixture
def folder(tmp_path) -> Path:
    write(tmp_path / "configs" / "small.yaml", "acme/small")
    write(tmp_path / "configs" / "large.yml", "acme/large")
    (tmp_path / "configs" / "notes.txt").write_text("not a config")
    return tmp_path / "configs"


def test_a_folder_gives_its_yaml_files_in_name_order_and_each_file_once(folder):
    paths = config_paths([str(folder), str(folder / "small.yaml")])
    assert [p.name for p in paths] == ["large.yml", "small.yaml"]
    assert [v.name for v in load_variants([str(folder)])] == ["large", "small"]


def test_a_missing_file_or_an_empty_folder_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="config file not found: nope.yaml"):
        config_paths(["nope.yaml"], tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError, match="holds no"):
        config_paths(["empty"], tmp_path)


def test_names_are_stems_and_clashing_stems_keep_their_folders(tmp_path):
    a = write(tmp_path / "gpu" / "base.yaml", "acme/a")
    b = write(tmp_path / "cpu" / "base.yaml", "acme/b")
    c = write(tmp_path / "cpu" / "tiny.yaml", "acme/c")
    assert variant_names([a, c]) == ["base", "tiny"]
    assert variant_names([a, b, c]) == ["gpu/base", "cpu/base", "cpu/tiny"]


def test_variants_that_write_to_one_model_are_refused(tmp_path):
    one = write(tmp_path / "one.yaml", "acme/a")
    two = write(tmp_path / "two.yaml", "acme/b", test_model="acme/a-test")
    with pytest.raises(UsageError, match=r"acme/a-test \(one and two\)"):
        check_variants(load_variants([str(one), str(two)]))
    trains = write(tmp_path / "three.yaml", "acme/c", train={"destination": "acme/a"})
    with pytest.raises(UsageError, match=r"acme/a \(one and three\)"):
        check_variants(load_variants([str(one), str(trains)]))
    fine = write(tmp_path / "four.yaml", "acme/d")
    check_variants(load_variants([str(one), str(fine)]))


# --- the push gate ----------------------------------------------------------------------------


def _ready_in_thread(gate: PushGate, name: str) -> tuple[threading.Thread, list]:
    answer: list = []
    thread = threading.Thread(target=lambda: answer.append(gate.wait_turn(name, lambda: False)))
    thread.start()
    return thread, answer


def test_a_passed_variant_waits_for_the_others_and_pushes_when_all_passed():
    gate = PushGate(["a", "b", "c"])
    thread, answer = _ready_in_thread(gate, "a")
    time.sleep(0.2)
    assert thread.is_alive()  # b and c have not finished their checks
    gate.ended("c", passed=True)  # c passed without pushing (e.g. --no-push)
    time.sleep(0.2)
    assert thread.is_alive()
    assert gate.wait_turn("b", lambda: False) is None  # the last to pass opens the gate
    thread.join(5)
    assert answer == [None]


def test_one_failed_variant_holds_every_other_back():
    gate = PushGate(["a", "b"])
    thread, answer = _ready_in_thread(gate, "a")
    gate.ended("b", passed=False)
    thread.join(5)
    assert answer and "variant b failed" in answer[0]
    assert gate.wait_turn("a", lambda: False) is not None  # and it stays held
    assert gate.failed() == ["b"]


def test_push_passed_variants_never_waits_and_a_stopping_run_stops_waiting():
    assert PushGate(["a", "b"], push_passed=True).wait_turn("a", lambda: False) is None
    assert PushGate(["a", "b"]).wait_turn("a", lambda: True) == "the run is stopping"


def test_the_first_word_on_how_a_variant_ended_counts():
    gate = PushGate(["a", "b"])
    gate.ended("b", passed=False)
    gate.ended("b", passed=True)
    assert gate.failed() == ["b"]


# --- the shared budget ------------------------------------------------------------------------


def test_the_budget_never_lets_more_than_its_size_run_at_once():
    seen: list[int] = []
    busy = [0]
    lock = threading.Lock()

    def work() -> None:
        with budget_slot():
            with lock:
                busy[0] += 1
                seen.append(busy[0])
            time.sleep(0.02)
            with lock:
                busy[0] -= 1

    with shared_budget(3) as budget:
        import contextvars

        threads = [
            threading.Thread(target=contextvars.copy_context().run, args=(work,)) for _ in range(12)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert max(seen) == 3 and budget.peak == 3
    with pytest.raises(ValueError):
        Budget(0)


def test_outside_a_budget_a_slot_limits_nothing():
    with budget_slot(), budget_slot():  # nested, no budget: no wait
        pass


# --- one report -------------------------------------------------------------------------------


def _report(model: str, status: str, pushed: bool = False, **extra: object) -> dict:
    stage = {
        "name": "test cases",
        "status": "failed" if status == "failed" else "passed",
        "seconds": 1.5,
        "error": None,
        "predictions": [],
    }
    return {
        "status": status,
        "pushed": pushed,
        "version": "v1" if pushed else None,
        "model": model,
        "stages": [stage],
        "ai_usage": {"calls": 2, "input_tokens": 10},
        **extra,
    }


def test_the_invocation_takes_the_status_a_person_must_act_on_first():
    assert overall(["passed", "passed"]) == "passed"
    assert overall(["passed", "failed"]) == "failed"
    assert overall(["failed", "error"]) == "error"
    assert overall(["error", "aborted", "failed"]) == "aborted"
    assert overall(["aborted", "unconfirmed"]) == "unconfirmed"
    assert overall(["passed", "mystery"]) == "failed"


def test_one_report_keeps_the_contract_and_names_every_stage_by_its_variant():
    report = combine(
        {
            "small": _report("acme/small", "passed", held="variant large failed"),
            "large": _report("acme/large", "failed"),
        },
        push_passed=False,
    )
    assert {"status", "pushed", "version", "stages"} <= set(report)
    assert report["status"] == "failed" and report["pushed"] is False
    assert [s["name"] for s in report["stages"]] == ["small · test cases", "large · test cases"]
    assert report["ai_usage"] == {"calls": 4, "input_tokens": 20}
    assert "stages" not in report["reports"]["small"]
    line = verdict(report)
    assert line.startswith("1 of 2 variants passed; large failed; nothing pushed; held back small")
    table = variants_markdown(report)
    assert "| small | acme/small | passed | held back |" in table
    assert "all variants or none" in table


# --- the command line and the deployments --------------------------------------------------


def test_the_command_line_takes_repeated_configs_and_folders(folder, tmp_path):
    request = parse_args(["--config", str(folder), "--fuzz-iterations", "0"], cwd=str(tmp_path))
    assert [v.name for v in request.variants] == ["large", "small"]
    # flags apply to every variant, as they do to one config
    assert all(v.config.predict.fuzz.iterations == 0 for v in request.variants)
    one = parse_args(["--config", str(folder / "small.yaml")], cwd=str(tmp_path))
    assert one.variants == [] and one.config.model == "acme/small"
    both = parse_args(
        [
            "--config",
            str(folder / "small.yaml"),
            "--config",
            str(folder / "large.yml"),
            "--push-passed-variants",
        ],
        cwd=str(tmp_path),
    )
    assert [v.name for v in both.variants] == ["small", "large"] and both.push_passed_variants


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--config", "{f}", "acme/x"], "cannot apply to several configs"),
        (["--config", "{f}/small.yaml", "--push-passed-variants"], "needs several configs"),
        (["--push-passed-variants", "acme/x"], "needs several configs"),
    ],
)
def test_the_command_line_refuses_what_cannot_mean_anything(folder, tmp_path, argv, message):
    with pytest.raises(UsageError, match=message):
        parse_args([a.format(f=folder) for a in argv], cwd=str(tmp_path))


def test_served_variants_are_one_set_of_deployments_of_the_variants_flow(folder):
    args = build_parser().parse_args(["--model-dir", str(folder.parent), "--config", str(folder)])
    settings = settings_from_args(args)
    assert isinstance(settings, ServeSettings) and len(settings.variants) == 2
    nightly, on_event, manual = describe(build_deployments(settings))
    assert {d["flow_name"] for d in (nightly, on_event, manual)} == {"safe-push-variants"}
    assert [v["name"] for v in nightly["parameters"]["variants"]] == ["large", "small"]
    assert nightly["parameters"]["options"]["no_push"] is True
    (trigger,) = on_event["triggers"]
    assert trigger["match"]["prefect.resource.id"] == [
        "cog.model.acme/large",
        "cog.model.acme/small",
    ]
    form = nightly["parameter_openapi_schema"]
    assert "variants" in form["properties"] and "push_passed_variants" in form["properties"]
    with pytest.raises(UsageError, match="--any-model"):
        settings_from_args(
            build_parser().parse_args(
                ["--model-dir", str(folder.parent), "--config", str(folder), "--any-model"]
            )
        )


def test_the_gate_names_the_first_failed_variant_once():
    told: list[str] = []
    gate = PushGate(["a", "b", "c"])
    gate.on_failure = told.append
    gate.ended("a", passed=True)
    gate.ended("b", passed=False)
    gate.ended("c", passed=False)  # a second failure changes nothing more
    gate.ended("b", passed=False)
    assert told == ["b"]
