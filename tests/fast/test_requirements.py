"""cog.yaml's build section against the interpreter that runs the model: tasks.platforms.local.requirements."""

from __future__ import annotations

import platform
import sys
from importlib import metadata
from pathlib import Path

import pytest

from tasks.platforms.local.requirements import (
    InterpreterFacts,
    environment_warnings,
    interpreter_facts,
    python_mismatch,
    requested_python,
    requirement_lines,
    unmet_requirements,
)

FACTS = InterpreterFacts(
    python="/opt/py/bin/python",
    version="3.11.7",
    distributions={
        "torch": "2.1.0",
        "Pillow": "10.2.0",
        "typing_extensions": "4.9.0",
        "rc": "2.0rc1",
    },
    markers={"python_version": "3.11", "python_full_version": "3.11.7", "sys_platform": "linux"},
)


def test_python_version_is_compared_to_the_precision_asked() -> None:
    assert not python_mismatch("3.11", "3.11.7")
    assert not python_mismatch("3.11.7", "3.11.7")
    assert python_mismatch("3.11.6", "3.11.7")
    assert python_mismatch("3.12", "3.11.7")
    assert python_mismatch("3.1", "3.11.7")  # not a prefix match on text


def test_requested_python_reads_what_cog_reads() -> None:
    assert requested_python("3.12") == "3.12"
    assert requested_python(3.1) == "3.10"  # unquoted 3.10 in YAML
    assert requested_python(3.9) == "3.9"
    assert requested_python(None) is None and requested_python("") is None


def test_a_python_version_mismatch_names_both_versions_and_the_fix() -> None:
    assert unmet_requirements({"python_version": "3.12"}, FACTS) == [
        "cog.yaml asks for Python 3.12 but the model runs on 3.11.7: "
        "pass --python with a 3.12 interpreter"
    ]
    assert unmet_requirements({"python_version": "3.11"}, FACTS) == []


def test_packages_missing_or_at_the_wrong_version() -> None:
    build = {
        "python_packages": [
            "torch==2.1.0",  # met
            "pillow<10",  # wrong version, name matched case-insensitively
            "numpy>=1.26",  # missing
            "typing-extensions>=4",  # met: - and _ are the same name
            "rc>=2.0",  # a pre-release of 2.0 is not >= 2.0 ...
            "rc>=1.9",  # ... but is >= 1.9 even with pre-releases off by default
        ]
    }
    assert unmet_requirements(build, FACTS) == [
        "cog.yaml build.python_packages asks for pillow<10 but /opt/py/bin/python has "
        "pillow 10.2.0: pass --python with an interpreter that has pillow<10",
        "cog.yaml build.python_packages asks for numpy>=1.26 but /opt/py/bin/python has no "
        "numpy: pass --python with an interpreter that has numpy>=1.26",
        "cog.yaml build.python_packages asks for rc>=2.0 but /opt/py/bin/python has rc 2.0rc1: "
        "pass --python with an interpreter that has rc>=2.0",
    ]


def test_markers_extras_urls_and_unreadable_entries() -> None:
    build = {
        "python_packages": [
            'numpy==1.0; python_version < "3.10"',  # not for this interpreter
            'torch==2.0.0; sys_platform == "linux"',  # for it, and unmet
            "pillow[avif]>=10",  # extras do not change the check
            "torch @ https://example.com/torch-2.1.0.whl",  # a URL: presence only
            "missing @ https://example.com/missing.whl",
            "not a requirement !",
        ]
    }
    warnings = unmet_requirements(build, FACTS)
    assert len(warnings) == 3
    assert "asks for torch==2.0.0 but /opt/py/bin/python has torch 2.1.0" in warnings[0]
    assert "has no missing" in warnings[1]
    assert warnings[2] == (
        "cog.yaml build.python_packages lists 'not a requirement !', which is not a "
        "requirement we can read: not checked"
    )


def test_requirements_file_lines() -> None:
    text = (
        "# models\n"
        "torch==2.1.0  # pinned\n"
        "--extra-index-url https://download.pytorch.org/whl/cu118\n"
        "-r more.txt\n"
        "-e git+https://github.com/x/y#egg=y\n"
        "pillow>=10 \\\n"
        "    --hash=sha256:abc\n"
        "./wheels/local-1.0.whl\n"
        "https://example.com/pkg.whl\n"
        "name @ https://example.com/name.whl\n"
        "\n"
    )
    assert requirement_lines(text) == [
        "torch==2.1.0",
        "pillow>=10",
        "name @ https://example.com/name.whl",
    ]


def test_requirements_file_is_checked_and_named() -> None:
    build = {"python_requirements": "requirements.txt"}
    warnings = unmet_requirements(build, FACTS, "torch>=2.2\nPillow\n")
    assert warnings == [
        "requirements.txt (cog.yaml build.python_requirements) asks for torch>=2.2 but "
        "/opt/py/bin/python has torch 2.1.0: pass --python with an interpreter that has torch>=2.2"
    ]
    assert unmet_requirements(build, FACTS, None) == [
        "cog.yaml build.python_requirements names requirements.txt, which is not in the Cog "
        "directory: its packages were not checked"
    ]


def test_nothing_asked_nothing_warned() -> None:
    assert unmet_requirements({}, FACTS) == []
    assert unmet_requirements({"python_packages": None, "gpu": True}, FACTS) == []


# ---------------------------------------------------------------- I/O, with the real interpreter


def test_interpreter_facts_and_warnings_from_a_real_interpreter(tmp_path: Path) -> None:
    facts = interpreter_facts(sys.executable)
    assert facts.version == platform.python_version()
    assert facts.installed("PyYAML") == metadata.version("pyyaml")
    assert facts.installed("cog") == metadata.version("cog")
    assert facts.markers["python_version"] == "{}.{}".format(*sys.version_info[:2])

    (tmp_path / "cog.yaml").write_text(
        "build:\n"
        f'  python_version: "{sys.version_info[0]}.{sys.version_info[1] + 1}"\n'
        "  python_packages:\n"
        "    - pyyaml>=1\n"
        "    - no-such-distribution-anywhere==1.0\n"
        "  python_requirements: requirements.txt\n"
        'predict: "predict.py:Predictor"\n'
    )
    (tmp_path / "requirements.txt").write_text(f"cog=={metadata.version('cog')}\njq<0.0.1\n")
    warnings = environment_warnings(str(tmp_path), sys.executable)
    assert [w.split(" but ")[0] for w in warnings] == [
        f"cog.yaml asks for Python {sys.version_info[0]}.{sys.version_info[1] + 1}",
        "cog.yaml build.python_packages asks for no-such-distribution-anywhere==1.0",
        "requirements.txt (cog.yaml build.python_requirements) asks for jq<0.0.1",
    ]
    assert all("--python" in w for w in warnings)


def test_an_interpreter_that_cannot_be_asked_is_one_warning(tmp_path: Path) -> None:
    (tmp_path / "cog.yaml").write_text('build:\n  python_version: "3.11"\n')
    warnings = environment_warnings(str(tmp_path), str(tmp_path / "no-python"))
    assert len(warnings) == 1 and "is not an executable" in warnings[0]
    (tmp_path / "cog.yaml").write_text("build:\n  gpu: false\n")
    assert environment_warnings(str(tmp_path), str(tmp_path / "no-python")) == []


@pytest.mark.parametrize("python", [None, sys.executable])
def test_default_interpreter_is_this_one(python: str | None) -> None:
    assert interpreter_facts(python).version == platform.python_version()
