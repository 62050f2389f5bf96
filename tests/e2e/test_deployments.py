"""Deployments of the safe_push flow: what they are made of, and that they run for real.

The end-to-end tests serve the deployments (`python -m deployments.serve`) against the session's
Prefect server, start a manual run through the client, emit `cog.model.changed` events (with
deployments/emit.py and with `prefect events emit`), and read the runs' artifacts back.
Observed on a 2-core machine: an event becomes a flow run in about 2 s and the runner starts it
about 1-2 s later (with --poll-seconds 1).
"""

from __future__ import annotations

import copy
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from deployments.params import (
    DEFAULT_CRON,
    EVENT_NAME,
    MANUAL,
    NIGHTLY,
    ON_MODEL_CHANGED,
    base_parameters,
    event_body,
    nightly_parameters,
    resource_id,
    secret_like,
    trigger_parameters,
    trigger_spec,
    undocumented,
)
from deployments.serve import ServeSettings, build_deployments, describe
from flows.cli import build_parser
from flows.safe_push_flow import safe_push
from tasks.core.config import Config, load_config
from tasks.core.errors import UsageError
from tasks.core.options import RunOptions
from tests.helpers import ROOT, copy_example, wait_for

HELLO = "examples/hello"
FLOW = "safe-push"
PREFECT = str(Path(sys.executable).parent / "prefect")


def hello_config() -> Config:
    return load_config(ROOT / "examples" / "hello" / "cog-safe-push.yaml")


def settings(**changes: Any) -> ServeSettings:
    return ServeSettings(config=hello_config(), source="/models/hello", **changes)


# --- what the deployments are made of (no server) -------------------------------------------


def test_three_deployments_nightly_is_scheduled_and_test_only():
    by_name = {d["name"]: d for d in describe(build_deployments(settings()))}
    assert set(by_name) == {NIGHTLY, ON_MODEL_CHANGED, MANUAL}
    nightly = by_name[NIGHTLY]
    assert nightly["schedules"] == [{"cron": DEFAULT_CRON, "timezone": "UTC"}]
    assert nightly["parameters"]["options"]["no_push"] is True
    assert nightly["triggers"] == []
    manual = by_name[MANUAL]
    assert manual["schedules"] == [] and manual["triggers"] == []
    assert manual["parameters"]["config"]["model"] == HELLO
    assert manual["parameters"]["source"] == "/models/hello"
    assert not manual["parameters"]["options"].get("no_push")
    (trigger,) = by_name[ON_MODEL_CHANGED]["triggers"]
    assert trigger["expect"] == [EVENT_NAME]
    assert trigger["match"] == {"prefect.resource.id": f"cog.model.{HELLO}"}
    assert set(trigger["parameters"]) == {"source", "git_ref", "subdirectory"}


def test_cron_is_configurable_and_can_be_turned_off():
    (nightly, *_) = describe(
        build_deployments(settings(cron="*/5 * * * *", timezone="Europe/Paris"))
    )
    assert nightly["schedules"] == [{"cron": "*/5 * * * *", "timezone": "Europe/Paris"}]
    (nightly, *_) = describe(build_deployments(settings(cron=None)))
    assert nightly["schedules"] == []


def _walk_schema(schema: dict[str, Any]):
    yield from schema["properties"].items()
    for body in schema["definitions"].values():
        yield from body["properties"].items()


def test_ui_form_is_typed_documented_and_free_of_secrets():
    for deployment in describe(build_deployments(settings())):
        schema = deployment["parameter_openapi_schema"]
        assert undocumented(schema) == [], deployment["name"]
        assert secret_like(schema) == []
        names = [name.lower() for name, _ in _walk_schema(schema)]
        for word in ("token", "key", "secret", "password"):
            assert not [n for n in names if word in n], word
        props = schema["properties"]
        assert props["config"]["$ref"] == "#/definitions/Config"
        assert props["source"]["type"] == "string"
        assert schema["required"] == ["config"]
        config = schema["definitions"]["Config"]["properties"]
        assert {"model", "test_model", "predict", "train", "parallel"} <= set(config)
        assert config["parallel"]["type"] == "integer"
        fuzz = schema["definitions"]["FuzzConfig"]["properties"]
        assert fuzz["iterations"]["type"] == "integer" and fuzz["iterations"]["description"]
        # the defaults shown in the form are valid parameters of the flow
        Config.model_validate(deployment["parameters"]["config"])
        RunOptions.model_validate(deployment["parameters"]["options"])


def test_a_secret_shaped_parameter_would_be_caught():
    schema = {"properties": {"replicate_api_token": {}}, "definitions": {}}
    assert secret_like(schema) == ["replicate_api_token"]
    assert undocumented(schema) == ["replicate_api_token"]


def _render(parameters: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
    """Render trigger parameters exactly as the Prefect server's run-deployment action does."""
    from prefect.server.events.actions import RunDeployment
    from prefect.server.events.schemas.events import ReceivedEvent
    from prefect.utilities.schema_tools.hydration import HydrationContext, hydrate

    parameters = copy.deepcopy(parameters)
    RunDeployment._upgrade_v1_templates(parameters)
    received = ReceivedEvent.model_validate({**event, "received": event["occurred"]})
    context = HydrationContext(render_jinja=True, jinja_context={"event": received})
    return hydrate(parameters, context)


def test_trigger_parameters_render_from_the_event_with_fallbacks():
    params = base_parameters(
        safe_push, config=hello_config(), source="/models/hello", git_ref="main", subdirectory="sub"
    )
    trigger = trigger_parameters(params)
    full = event_body(HELLO, "https://git.example/hello.git", "abc123", subdirectory="m")
    assert _render(trigger, full) == {
        "source": "https://git.example/hello.git",
        "git_ref": "abc123",
        "subdirectory": "m",
    }
    # nothing in the payload: the deployment's own source, ref and subdirectory
    assert _render(trigger, event_body(HELLO)) == {
        "source": "/models/hello",
        "git_ref": "main",
        "subdirectory": "sub",
    }


def test_any_model_trigger_takes_the_model_from_the_event():
    config = hello_config().model_dump(mode="json", exclude_none=True)
    config["predict"]["fuzz"]["prompt"] = "names like {{ user }}"  # not a template
    params = base_parameters(safe_push, config=Config.model_validate(config))
    spec = trigger_spec(params, model=None)
    assert spec["match"] == {"prefect.resource.id": "cog.model.*"}
    rendered = _render(spec["parameters"], event_body("acme/other", "file:///r", "v2"))
    parsed = Config.model_validate(rendered["config"])
    assert parsed.model == "acme/other" and parsed.resolved_test_model == "acme/other-test"
    assert parsed.predict.fuzz.prompt == "names like {{ user }}"
    assert parsed.predict.test_cases == hello_config().predict.test_cases
    by_payload = event_body("acme/other", extra={"model": "acme/third", "test_model": "acme/t"})
    rendered = _render(spec["parameters"], by_payload)
    assert (rendered["config"]["model"], rendered["config"]["test_model"]) == (
        "acme/third",
        "acme/t",
    )


def test_event_body_names_the_model_and_rejects_bad_names():
    body = event_body(HELLO, "file:///repo", "main")
    assert (
        body["resource"]["prefect.resource.id"] == resource_id(HELLO) == "cog.model.examples/hello"
    )
    assert body["payload"] == {"git_url": "file:///repo", "git_ref": "main"}
    with pytest.raises(UsageError):
        event_body("not-a-model")
    proc = _python("-m", "deployments.emit", "--model", "nope")
    assert proc.returncode == 2 and "owner" in proc.stderr


def test_serving_from_a_git_url_reads_the_config_from_the_clone(tmp_path):
    from deployments.serve import build_parser as serve_parser
    from deployments.serve import settings_from_args

    repo = copy_example("hello", tmp_path)
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "hello")
    args = serve_parser().parse_args(["--git-url", repo.as_uri(), "--git-ref", "main"])
    got = settings_from_args(args)
    assert got.config == hello_config()
    assert (got.source, got.git_ref) == (repo.as_uri(), "main")
    proc = _python("-m", "deployments.serve", "--model-dir", str(tmp_path / "nope"), "--print")
    assert proc.returncode == 2 and "not a directory" in proc.stderr
    proc = _python("-m", "deployments.serve", "--model-dir", str(repo), "--print", "--cron", "")
    assert proc.returncode == 0, proc.stderr
    nightly = json.loads(proc.stdout)[0]
    assert nightly["name"] == NIGHTLY and nightly["schedules"] == []


def test_prefect_yaml_matches_the_served_deployments():
    spec = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    deployments = {d["name"]: d for d in spec["deployments"]}
    assert set(deployments) == {NIGHTLY, ON_MODEL_CHANGED, MANUAL}
    params = base_parameters(safe_push, config=hello_config(), source=HELLO)
    for d in deployments.values():
        assert d["entrypoint"] == "flows/safe_push_flow.py:safe_push"
        assert d["work_pool"]["name"] == "cog-safe-push"
        assert Config.model_validate(d["parameters"]["config"]) == hello_config()
        assert d["parameters"]["source"] == HELLO
        assert d["parameters"]["allowed_sources"] == params["allowed_sources"] == [HELLO]
        assert d["concurrency_limit"] == 1
    assert "test-only" in deployments[NIGHTLY]["tags"]
    nightly = deployments[NIGHTLY]
    assert nightly["schedules"] == [{"cron": DEFAULT_CRON, "timezone": "UTC", "active": True}]
    assert nightly["parameters"]["options"] == nightly_parameters(params)["options"]
    (trigger,) = deployments[ON_MODEL_CHANGED]["triggers"]
    assert trigger == trigger_spec(params, model=HELLO)
    assert "schedules" not in deployments[MANUAL] and "triggers" not in deployments[MANUAL]


def test_github_actions_workflow_runs_the_tool_and_uploads_both_reports():
    workflow = yaml.safe_load((ROOT / "examples/github-actions/cog-safe-push.yaml").read_text())
    runs = 0
    for name in ("test", "push"):
        steps = workflow["jobs"][name]["steps"]
        (run,) = [s["run"] for s in steps if "run" in s and s["run"].startswith("cog-safe-push")]
        argv = shlex.split(run)[1:]
        args = build_parser().parse_args(argv)  # the flags are this tool's
        assert args.junit_xml == "reports/junit.xml" and args.report_json == "reports/report.json"
        uploads = [s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact")]
        assert uploads and uploads[0]["with"]["path"] == "reports/"
        assert uploads[0]["if"] == "always()"
        junit = [s for s in steps if "junit" in str(s.get("uses", ""))]
        assert junit[0]["with"]["report_paths"] == "reports/junit.xml"
        runs += 1
    assert runs == 2
    # secrets only ever come from the environment, never from a command line
    text = (ROOT / "examples/github-actions/cog-safe-push.yaml").read_text()
    assert "--token" not in text.replace("--token-stdin", "")


# --- served for real, against the session's Prefect server ----------------------------------


def _python(*args: str, **kwargs: Any) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=60, **kwargs
    )


def _git(repo: Path, *args: str) -> str:
    proc = subprocess.run(
        ["git", "-C", str(repo), "-c", "user.email=t@example.com", "-c", "user.name=t", *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout.strip()


def read_deployment(name: str):
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return client.read_deployment_by_name(f"{FLOW}/{name}")


class Served:
    def __init__(self, proc: subprocess.Popen, log: Path, model_dir: Path, repo: Path, sha: str):
        self.proc, self.log, self.model_dir, self.repo, self.sha = proc, log, model_dir, repo, sha
        self.registry = model_dir.parent / "registry"

    def deployment(self, name: str):
        return read_deployment(name)


@pytest.fixture(scope="module")
def served(tmp_path_factory, prefect_server):
    """`python -m deployments.serve` in the background; the whole process group dies at the end."""
    base = tmp_path_factory.mktemp("served")
    model_dir = copy_example("hello", base)
    repo = copy_example("hello", base / "git")
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "hello")
    sha = _git(repo, "rev-parse", "HEAD")
    env = {
        **os.environ,
        "COG_SAFE_PUSH_HOME": str(base / "registry"),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(ROOT),
    }
    log = base / "serve.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "deployments.serve",
                "--model-dir",
                str(model_dir),
                "--platform",
                "local",
                "--seed",
                "1",
                "--poll-seconds",
                "1",
                "--allow-git-url",
                repo.as_uri(),
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    served = Served(proc, log, model_dir, repo, sha)
    try:
        wait_for(lambda: _is_serving(served), 90, "the deployments to be served")
        yield served
    finally:
        _stop(proc)


def _is_serving(served: Served) -> bool:
    if served.proc.poll() is not None:
        raise AssertionError(f"serve exited:\n{served.log.read_text()[-3000:]}")
    return "being served" in served.log.read_text()


def _stop(proc: subprocess.Popen) -> None:
    for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            # children (flow runs, Cog servers) share the group: make sure none outlive us
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue


def _flow_runs(deployment_id) -> list:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

    with get_client(sync_client=True) as client:
        return client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id]))
        )


def _finished(flow_run_id):
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        run = client.read_flow_run(flow_run_id)
    return run if run.state is not None and run.state.is_final() else None


def _artifacts(flow_run_id) -> dict[str, Any]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
        )
    return {a.type: a for a in found}


def _assert_report_artifacts(flow_run_id, status: str) -> None:
    artifacts = _artifacts(flow_run_id)
    assert {"markdown", "table"} <= set(artifacts), sorted(artifacts)
    summary = artifacts["markdown"]
    assert summary.key == "examples-hello-summary"
    assert "cog-safe-push" in summary.data and status in summary.data.splitlines()[0]
    table = artifacts["table"]
    rows = json.loads(table.data) if isinstance(table.data, str) else table.data
    assert rows and any("Ada" in json.dumps(row) for row in rows)


def test_nightly_schedule_via_the_api(served):
    deployment = served.deployment(NIGHTLY)
    (schedule,) = deployment.schedules
    assert schedule.active
    assert schedule.schedule.cron == DEFAULT_CRON and schedule.schedule.timezone == "UTC"
    assert deployment.parameters["options"] == {
        "platform": "local",
        "seed": 1,
        "no_push": True,
        "push_official_model": False,
    }
    # the server has already planned the next nightly runs, at 03:00 UTC
    planned = wait_for(lambda: _flow_runs(deployment.id), 30, "scheduled nightly runs")
    times = sorted(r.expected_start_time for r in planned)
    assert (times[0].hour, times[0].minute) == (3, 0)


def test_manual_run_started_through_the_client(served):
    from prefect.deployments import run_deployment

    deployment = served.deployment(MANUAL)
    assert deployment.paused is False and not deployment.schedules
    run = run_deployment(
        f"{FLOW}/{MANUAL}",
        parameters={"options": {"platform": "local", "no_push": True, "seed": 1}},
        timeout=150,
        poll_interval=1,
        as_subflow=False,
    )
    run = wait_for(lambda: _finished(run.id), 30, "the manual run to finish")
    assert run.state.is_completed(), (run.state, served.log.read_text()[-3000:])
    assert run.parameters["source"] == str(served.model_dir)
    _assert_report_artifacts(run.id, "passed")
    assert "pushed: no" in _artifacts(run.id)["markdown"].data


def test_event_from_emit_starts_a_run_from_the_git_repo(served):
    from deployments.emit import emit

    deployment = served.deployment(ON_MODEL_CHANGED)
    before = {r.id for r in _flow_runs(deployment.id)}
    sent_at = time.monotonic()
    emit(HELLO, served.repo.as_uri(), served.sha)

    def triggered():
        return [r for r in _flow_runs(deployment.id) if r.id not in before]

    (run,) = wait_for(triggered, 90, "a flow run triggered by the event")
    print(f"event -> flow run in {time.monotonic() - sent_at:.1f}s")
    assert run.created_by is not None and run.created_by.type == "AUTOMATION"
    assert run.parameters["source"] == served.repo.as_uri()
    assert run.parameters["git_ref"] == served.sha
    assert run.parameters["config"]["model"] == HELLO
    run = wait_for(lambda: _finished(run.id), 150, "the triggered run to finish", 1)
    assert run.state.is_completed(), (run.state, served.log.read_text()[-3000:])
    _assert_report_artifacts(run.id, "passed")
    assert f"- pushed: {HELLO}:`" in _artifacts(run.id)["markdown"].data


def test_event_from_prefect_cli_with_a_bad_ref_fails_loudly(served):
    deployment = served.deployment(ON_MODEL_CHANGED)
    before = {r.id for r in _flow_runs(deployment.id)}
    payload = json.dumps({"git_url": served.repo.as_uri(), "git_ref": "no-such-ref"})
    proc = subprocess.run(
        [
            PREFECT,
            "events",
            "emit",
            EVENT_NAME,
            "--resource-id",
            resource_id(HELLO),
            "--payload",
            payload,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr

    def triggered():
        return [r for r in _flow_runs(deployment.id) if r.id not in before]

    (run,) = wait_for(triggered, 90, "a flow run triggered by the CLI event")
    assert run.parameters["git_ref"] == "no-such-ref"
    run = wait_for(lambda: _finished(run.id), 90, "the triggered run to finish", 1)
    assert run.state.is_failed()
    assert "no-such-ref" in (run.state.message or "")
    summary = _artifacts(run.id)["markdown"]
    assert "error" in summary.data.splitlines()[0]


def test_an_event_for_another_model_starts_nothing(served):
    from deployments.emit import emit

    deployment = served.deployment(ON_MODEL_CHANGED)
    before = {r.id for r in _flow_runs(deployment.id)}
    emit("someone/else", served.repo.as_uri(), served.sha)
    time.sleep(4)  # longer than the observed event -> run latency
    assert {r.id for r in _flow_runs(deployment.id)} == before


def _emit_and_finish(served, payload: dict) -> Any:
    """Send a cog.model.changed event with `payload`; the finished flow run it started."""
    from deployments.emit import send

    deployment = served.deployment(ON_MODEL_CHANGED)
    before = {r.id for r in _flow_runs(deployment.id)}
    body = event_body(HELLO)
    body["payload"] = payload
    send(body)

    def triggered():
        return [r for r in _flow_runs(deployment.id) if r.id not in before]

    (run,) = wait_for(triggered, 90, "a flow run triggered by the event")
    return wait_for(lambda: _finished(run.id), 150, "the triggered run to finish", 1)


def test_an_event_cannot_choose_a_source_outside_the_allowlist(served, tmp_path):
    """A git URL the deployment does not allow is refused before anything is cloned."""
    other = copy_example("hello", tmp_path / "other")
    _git(other, "init", "-q", "-b", "main")
    _git(other, "add", "-A")
    _git(other, "commit", "-q", "-m", "other")
    run = _emit_and_finish(served, {"git_url": other.as_uri()})
    assert run.state.is_failed()
    assert "not allowed by this deployment" in (run.state.message or "")


@pytest.mark.parametrize("subdirectory", ["/etc", "../.."])
def test_an_events_subdirectory_must_stay_inside_the_checkout(served, subdirectory):
    run = _emit_and_finish(
        served,
        {"git_url": served.repo.as_uri(), "git_ref": served.sha, "subdirectory": subdirectory},
    )
    assert run.state.is_failed()
    assert "subdirectory" in (run.state.message or "")


def test_the_nightly_deployment_never_pushes_whatever_its_parameters(served):
    from prefect.deployments import run_deployment

    from tasks.platforms.local.registry import LocalRegistry

    registry = LocalRegistry(served.registry)
    before = [v["id"] for v in registry.list_versions(HELLO)]
    run = run_deployment(
        f"{FLOW}/{NIGHTLY}",
        parameters={"options": {"platform": "local", "no_push": False, "seed": 1}},
        timeout=150,
        poll_interval=1,
        as_subflow=False,
    )
    run = wait_for(lambda: _finished(run.id), 30, "the nightly run to finish")
    assert run.state.is_completed(), (run.state, served.log.read_text()[-3000:])
    assert "pushed: no" in _artifacts(run.id)["markdown"].data
    assert [v["id"] for v in registry.list_versions(HELLO)] == before


def test_sigterm_of_serve_pauses_the_schedules(tmp_path, prefect_server):
    """Stopping the serving process with SIGTERM (what a service manager sends) pauses the
    nightly schedule as Ctrl-C does, so the server does not pile up runs nobody will run."""
    model_dir = copy_example("hello", tmp_path)
    env = {**os.environ, "COG_SAFE_PUSH_HOME": str(tmp_path / "registry"), "PYTHONPATH": str(ROOT)}
    log = tmp_path / "serve.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "deployments.serve",
                "--model-dir",
                str(model_dir),
                "--platform",
                "local",
                "--name-suffix=-sigterm",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for(lambda: "being served" in log.read_text(), 90, "the deployments to be served")
        assert read_deployment(NIGHTLY + "-sigterm").paused is False
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"serve ignored SIGTERM for 60 s: {log.read_text()[-3000:]}"
            ) from None
        assert read_deployment(NIGHTLY + "-sigterm").paused is True, log.read_text()[-2000:]
    finally:
        _stop(proc)


def test_prefect_deploy_with_prefect_yaml(served, tmp_path):
    """Last: `prefect deploy` replaces the served deployments of the same names."""
    from prefect.client.orchestration import get_client

    env = {**os.environ, "PWD": str(ROOT)}
    create = [PREFECT, "work-pool", "create", "cog-safe-push", "--type", "process", "--overwrite"]
    proc = subprocess.run(create, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    deploy = [PREFECT, "--no-prompt", "deploy", "--all"]
    proc = subprocess.run(deploy, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    spec = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    with get_client(sync_client=True) as client:
        nightly = client.read_deployment_by_name(f"{FLOW}/{NIGHTLY}")
        on_event = client.read_deployment_by_name(f"{FLOW}/{ON_MODEL_CHANGED}")
        automations = client.read_automations()
    assert nightly.work_pool_name == "cog-safe-push"
    assert nightly.pull_steps == [
        {"prefect.deployments.steps.set_working_directory": {"directory": str(ROOT)}}
    ]
    assert [s.schedule.cron for s in nightly.schedules] == [DEFAULT_CRON]
    assert nightly.parameters["options"]["no_push"] is True
    (automation,) = [
        a
        for a in automations
        if a.actions and getattr(a.actions[0], "deployment_id", None) == on_event.id
    ]
    (trigger,) = [d for d in spec["deployments"] if d["name"] == ON_MODEL_CHANGED][0]["triggers"]
    assert automation.trigger.expect == {EVENT_NAME}
    assert automation.actions[0].parameters == trigger["parameters"]
