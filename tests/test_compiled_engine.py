"""The optional compiled engine (``setup.py``): mypyc's build of the engine gives the same decisions as the
Python source, and a build that cannot compile installs the Python source.

The rest of the suite runs on the editable install, whose engine is the Python source; this module builds the
compiled engine the way ``pip install .`` does and runs the engine's behaviour tests on it.
"""

from __future__ import annotations

import os
import runpy
import shutil
import subprocess
import sys
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

import pytest
from setuptools import Distribution, Extension

ROOT = Path(__file__).resolve().parent.parent
SETUP = runpy.run_path(str(ROOT / "setup.py"), run_name="setup_under_test")

#: The behaviour tests run again on the compiled engine: the engine's rules, cross-user rules, the shipped
#: scenarios (replayed from a store, as the command does) and a replay split over worker processes.
BEHAVIOUR = [
    *sorted(str(path.relative_to(ROOT)) for path in (ROOT / "tests").glob("test_engine_*.py")),
    "tests/test_crossuser.py",
    "tests/test_scenarios_shipped.py",
    "tests/test_replay.py::test_workers_give_the_same_decisions_as_one_worker",
]


def _compiled(path: Path) -> bool:
    return any(path.with_suffix(suffix).exists() for suffix in EXTENSION_SUFFIXES)


@pytest.mark.slow
def test_the_compiled_engine_passes_the_engines_behaviour_tests(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    shutil.copytree(ROOT / "campaign_connector", tree / "campaign_connector",
                    ignore=shutil.ignore_patterns("__pycache__", *(f"*{suffix}" for suffix in EXTENSION_SUFFIXES)))
    shutil.copytree(ROOT / "sample_data", tree / "sample_data")
    for name in ("setup.py", "pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, tree / name)
    env = {key: value for key, value in os.environ.items()
           if key not in ("CAMPAIGN_CONNECTOR_PURE", "CAMPAIGN_CONNECTOR_COMPILE")}
    # -O0: the C compiler's optimisation level does not change what the code does, and it halves the build
    build = subprocess.run([sys.executable, "setup.py", "-q", "build_ext", "--inplace"], cwd=tree,
                           env={**env, "MYPYC_OPT_LEVEL": "0"}, capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stdout + build.stderr
    assert "pure-Python engine" not in build.stderr, build.stderr
    modules = [tree / module for module in SETUP["ENGINE"]]
    assert all(_compiled(module) for module in modules), sorted(p.name for p in modules[0].parent.iterdir())
    outside = [path.name for path in tree.iterdir() if path.suffix in (".so", ".pyd")]
    assert not outside, "mypyc's runtime module belongs inside the package"

    # -P: the checkout's own campaign_connector (the Python source) must not come first on sys.path.
    env["PYTHONPATH"] = str(tree)
    version = subprocess.run([sys.executable, "-P", "-m", "campaign_connector", "--version"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=120)
    assert version.stdout.splitlines()[1:] == ["engine: compiled with mypyc"], version.stdout + version.stderr
    tests = subprocess.run([sys.executable, "-P", "-m", "pytest", "-p", "no:cacheprovider", "-n", "0", "-x",
                            *BEHAVIOUR], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert tests.returncode == 0, tests.stdout[-4000:] + tests.stderr[-2000:]
    summary = tests.stdout.splitlines()[-1]
    assert " passed" in summary and "failed" not in summary and "skipped" not in summary, tests.stdout[-2000:]


def test_a_build_that_cannot_compile_installs_the_python_source(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "good.c").write_text("int good(void) { return 1; }\n")
    (tmp_path / "bad.c").write_text("this is not C\n")
    monkeypatch.chdir(tmp_path)
    dist = Distribution({"name": "probe", "ext_modules": [Extension("good", ["good.c"]), Extension("bad", ["bad.c"])]})
    command = SETUP["OptionalBuildExt"](dist)
    command.inplace = True
    command.ensure_finalized()
    command.run()  # no exception: the install goes on
    assert command.failed is not None
    assert not any(_compiled(tmp_path / name) for name in ("good", "bad")), "no half-compiled set is left"
    assert "could not compile the engine" in capsys.readouterr().err


def test_an_editable_install_keeps_the_python_source_unless_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    """``pip install -e .`` runs ``setup.py editable_wheel``: the developer's edits must not be shadowed."""
    compile_engine = SETUP["_compile_engine"]
    cases = [
        (["setup.py", "bdist_wheel"], {}, True),
        (["setup.py", "egg_info"], {}, False),
        (["setup.py", "editable_wheel"], {}, False),
        (["setup.py", "develop"], {}, False),
        (["setup.py", "editable_wheel"], {"CAMPAIGN_CONNECTOR_COMPILE": "1"}, True),
        (["setup.py", "bdist_wheel"], {"CAMPAIGN_CONNECTOR_PURE": "1"}, False),
    ]
    for argv, env, expected in cases:
        monkeypatch.delenv("CAMPAIGN_CONNECTOR_COMPILE", raising=False)
        monkeypatch.delenv("CAMPAIGN_CONNECTOR_PURE", raising=False)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        monkeypatch.setattr(sys, "argv", argv)
        assert compile_engine() is expected, (argv, env)
