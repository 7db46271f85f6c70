"""Build script: everything is in pyproject.toml except the optional compiled engine (issue 14).

``pip install .`` compiles the replay engine's modules (``ENGINE``) with mypyc into C extensions, which cuts
the per-user pass of a replay by about a sixth. The same modules stay in the package as plain Python, and the
compiled ones are only ever a faster copy of them:

- No C compiler, or mypyc fails: the build says so in one warning and installs the pure-Python engine.
  ``campaign-connector --version`` says which engine is installed.
- ``pip install -e .`` (editable, the developer's install) does not compile: a compiled module would shadow
  edits to its source. ``CAMPAIGN_CONNECTOR_COMPILE=1`` compiles it anyway (in place, next to the sources).
- ``CAMPAIGN_CONNECTOR_PURE=1`` never compiles.

The test suite checks both: it runs on the pure engine of the editable install, and
``tests/test_compiled_engine.py`` compiles the engine with mypyc and runs the engine's behaviour tests on it.
"""

from __future__ import annotations

import inspect
import os
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.errors import CCompilerError, CompileError, ExecError, LinkError, PlatformError

#: The modules compiled with mypyc: the per-user replay engine (SPEC §4), pure and fully type-checked.
ENGINE = [
    "campaign_connector/engine/core.py",
    "campaign_connector/engine/match.py",
    "campaign_connector/engine/clock.py",
    "campaign_connector/engine/audience.py",
    "campaign_connector/engine/crossuser.py",
]

#: What a failed C build raises (setuptools' distutils errors, and a missing compiler's OSError).
BUILD_ERRORS = (CCompilerError, CompileError, ExecError, LinkError, PlatformError, OSError)


def _warn(message: str) -> None:
    print(f"campaign-connector: {message}; installing the pure-Python engine (the same results, slower)",
          file=sys.stderr)


class OptionalBuildExt(build_ext):
    """``build_ext`` whose failure is not the install's: if any extension fails to build, none is installed
    (a half-compiled engine would not import), one warning says why, and the pure-Python modules are used."""

    failed: str | None = None

    def run(self) -> None:
        try:
            super().run()
        except BUILD_ERRORS as error:
            self._give_up(error)

    def build_extension(self, ext: Extension) -> None:
        if self.failed is not None:
            return
        try:
            super().build_extension(ext)
        except BUILD_ERRORS as error:
            self._give_up(error)

    def copy_extensions_to_source(self) -> None:  # --inplace (an editable install asked to compile)
        if self.failed is None:
            super().copy_extensions_to_source()

    def _give_up(self, error: BaseException) -> None:
        if self.failed is None:
            self.failed = str(error) or type(error).__name__
            _warn(f"could not compile the engine ({self.failed})")
        for ext in self.extensions:
            Path(self.get_ext_fullpath(ext.name)).unlink(missing_ok=True)


#: The setup.py commands that build; the others (egg_info, dist_info: the metadata) need no extensions.
BUILDS = {"bdist_wheel", "build", "build_ext", "install", "develop", "editable_wheel"}


def _compile_engine() -> bool:
    if os.environ.get("CAMPAIGN_CONNECTOR_PURE") == "1" or not BUILDS & set(sys.argv[1:]):
        return False
    editable = bool({"editable_wheel", "develop"} & set(sys.argv))  # PEP 660 editable, and the legacy one
    return not editable or os.environ.get("CAMPAIGN_CONNECTOR_COMPILE") == "1"


def _engine_extensions() -> list[Extension]:
    if not _compile_engine():
        return []
    try:
        from mypyc.build import mypycify
    except ImportError as error:
        _warn(f"mypyc is not available ({error})")
        return []
    # MYPYC_OPT_LEVEL: the C compiler's optimisation level, as mypyc's own command reads it (default 3)
    options: dict[str, str] = {"opt_level": os.environ.get("MYPYC_OPT_LEVEL", "3"), "debug_level": "0"}
    if "group_name" in inspect.signature(mypycify).parameters:
        # mypyc's runtime for the group, inside the package (by default a top-level module named by a hash,
        # which an editable install's finder does not see)
        options["group_name"] = "campaign_connector.engine._compiled"
    # The build environment has none of the dependencies' type stubs: an ignore that the lint extra's mypy
    # needs (and checks) is unused here, and their values are Any.
    relaxed = ["--no-warn-unused-ignores", "--no-warn-return-any"]
    try:
        return list(mypycify([*relaxed, *ENGINE], **options))
    except (Exception, SystemExit) as error:  # mypyc reports a type error by exiting
        _warn(f"mypyc could not translate the engine ({error})")
        return []


if __name__ == "__main__":
    setup(ext_modules=_engine_extensions(), cmdclass={"build_ext": OptionalBuildExt})
