"""The images docker compose builds and pulls, checked without a Docker engine: each Python image
installs what its code imports and nothing else, from wheels that exist for amd64 and arm64 (an
image builds on Apple Silicon and Graviton, where the slim Python image has no compiler), every
pulled image is one whose architectures were read at its source, every download is checksummed,
and the build context holds only what the Dockerfiles copy."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import shlex
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.tags import Tag, compatible_tags, cpython_tags
from packaging.utils import canonicalize_name, parse_wheel_filename

from deploy.native.layout import VERSIONS
from tests.running_stack import REPO
from tests.unit.compose_cli import BUILD_TIMEOUT_S, ENV_EXAMPLE, resolved

pytestmark = pytest.mark.timeout(BUILD_TIMEOUT_S)

DOCKERFILES = [
    REPO / "post_service" / "Dockerfile",
    REPO / "subscribe_service" / "Dockerfile",
    REPO / "connect" / "Dockerfile",
]
ARCHITECTURES = ("x86_64", "aarch64")
# The Python image is Debian bookworm: glibc 2.36, so wheels for manylinux_2_36 and older run.
GLIBC_MINOR = 36
# Modules loaded by name at run time rather than imported: SQLAlchemy's URL names its driver.
LOADED_BY_NAME = {"mysql+pymysql": "pymysql"}
# Where each image's architectures were read (no registry is reachable from these machines).
# A new image or tag fails here until someone reads its source and adds it.
MULTI_ARCH_IMAGES = {
    "mysql:8.4.11": "docker-library/official-images library/mysql (37079fb, 2026-08-21): "
    "Tags 8.4.11 ... Architectures: amd64, arm64v8",
    "python:3.11.16-slim-bookworm": "docker-library/official-images library/python (37079fb): "
    "Tags 3.11.16-slim-bookworm ... Architectures: amd64, arm32v7, arm64v8, i386, ppc64le",
    "apache/kafka:4.3.1": "apache/kafka docker/docker_release.py (1eb7644): every release image is "
    "pushed by `docker buildx build --platform linux/amd64,linux/arm64`",
    "kafbat/kafka-ui:v1.5.0": "kafbat/kafka-ui .github/workflows/docker_build.yml at v1.5.0 "
    "(afc9c91): platforms linux/amd64,linux/arm64, pushed to docker.io as the release's tag",
}


@dataclass
class Stage:
    """One FROM ... of a Dockerfile, with the instructions that matter here."""

    dockerfile: Path
    base: str
    name: str = ""
    runs: list[str] = field(default_factory=list)
    copied: list[str] = field(default_factory=list)
    adds: list[str] = field(default_factory=list)
    env: str = ""


def instructions(dockerfile: Path) -> Iterator[tuple[str, str]]:
    """(INSTRUCTION, arguments), continuation lines joined, comments skipped."""
    text = re.sub(r"\\\n\s*", " ", dockerfile.read_text())
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            instruction, _, arguments = line.strip().partition(" ")
            yield instruction.upper(), arguments.strip()


def stages(dockerfile: Path) -> list[Stage]:
    found: list[Stage] = []
    for instruction, arguments in instructions(dockerfile):
        if instruction == "FROM":
            base, _, name = arguments.partition(" AS ")
            found.append(Stage(dockerfile, base.strip(), name.strip()))
        elif not found:
            continue
        elif instruction == "RUN":
            found[-1].runs.append(arguments)
        elif instruction == "COPY" and not arguments.startswith("--from"):
            found[-1].copied += shlex.split(arguments)[:-1]
        elif instruction == "ADD":
            found[-1].adds.append(arguments)
        elif instruction == "ENV":
            found[-1].env += " " + arguments
    return found


def python_images() -> list[Stage]:
    """The stages that install Python dependencies: the images of the Python processes."""
    return [s for d in DOCKERFILES for s in stages(d) if any("uv sync" in r for r in s.runs)]


def image_id(stage: Stage) -> str:
    return f"{stage.dockerfile.relative_to(REPO)}:{stage.name or 'final'}"


@cache
def uv() -> str:
    return subprocess.run(
        [REPO / "deploy" / "uv.sh"], capture_output=True, text=True, check=True
    ).stdout.strip()


def installed(stage: Stage) -> list[Requirement]:
    """What the stage's `uv sync` installs, from uv.lock, each with the marker it is under."""
    (sync,) = [r for r in stage.runs if "uv sync" in r]
    how = {"--no-cache", "--compile-bytecode"}  # how it installs, not what
    options = [o for o in shlex.split(sync.partition("uv sync")[2]) if o not in how]
    return [Requirement(line) for line in exported(tuple(options)) if line and line[0] != "#"]


@cache
def exported(options: tuple[str, ...]) -> list[str]:
    return subprocess.run(
        [uv(), "export", "--no-hashes", "--no-header", "--no-annotate", *options],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    ).stdout.splitlines()


def installed_on(stage: Stage, architecture: str) -> set[str]:
    # Marker.evaluate fills in what is not given from this interpreter: CPython 3.11 too.
    environment = {
        "platform_machine": architecture,
        "sys_platform": "linux",
        "platform_system": "Linux",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "python_version": "3.11",
    }
    return {
        canonicalize_name(r.name)
        for r in installed(stage)
        if r.marker is None or r.marker.evaluate(environment)
    }


def direct_requirements(stage: Stage) -> set[str]:
    """What pyproject.toml lists for the stage's `uv sync`: the project's and its groups'."""
    (sync,) = [r for r in stage.runs if "uv sync" in r]
    options = shlex.split(sync.partition("uv sync")[2])
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    groups = project["dependency-groups"]
    selected = [options[i + 1] for i, o in enumerate(options) if o in {"--group", "--only-group"}]
    listed = [] if "--only-group" in options else list(project["project"]["dependencies"])
    for group in selected:
        listed += groups[group]
    return {canonicalize_name(Requirement(r).name) for r in listed}


def third_party_imports(stage: Stage) -> set[str]:
    """The distributions whose modules the copied code imports, or loads by name."""
    roots = [REPO / source.rstrip("/") for source in stage.copied]
    code = [
        path
        for root in roots
        for path in ([root] if root.is_file() else root.rglob("*.py"))
        if path.suffix == ".py"
    ]
    own = {Path(source.rstrip("/")).parts[0] for source in stage.copied}  # the repo's packages
    modules = set()
    for path in code:
        text = path.read_text()
        modules |= {module for name, module in LOADED_BY_NAME.items() if name in text}
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Import):
                modules |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                modules.add(node.module.split(".")[0])
    distributions = importlib.metadata.packages_distributions()
    return {
        canonicalize_name(distributions[module][0])
        for module in modules - own - set(sys.stdlib_module_names) - {"__future__"}
    }


def extras_of(names: set[str]) -> set[str]:
    """What the optional dependencies (extras) of these distributions would bring, from their
    metadata (uv.lock records only the extras something asks for)."""
    found: set[str] = set()
    for name in names:
        for line in importlib.metadata.requires(name) or []:
            requirement = Requirement(line)
            if requirement.marker and "extra" in str(requirement.marker):
                found.add(canonicalize_name(requirement.name))
    return found


@pytest.mark.parametrize("stage", python_images(), ids=image_id)
def test_a_python_image_installs_what_its_code_imports_and_nothing_else(stage: Stage) -> None:
    imported = third_party_imports(stage)
    direct = direct_requirements(stage)
    # PyMySQL's `rsa` extra (cryptography) is listed for MySQL 8.4's password exchange.
    unused = direct - imported - extras_of(imported & direct)
    assert not unused, f"{image_id(stage)} installs {sorted(unused)}, which its code never imports"
    for architecture in ARCHITECTURES:
        missing = imported - installed_on(stage, architecture)
        assert not missing, f"{image_id(stage)} imports {sorted(missing)} without installing them"


def supported_tags(architecture: str) -> set[Tag]:
    platforms = [f"manylinux_2_{minor}_{architecture}" for minor in range(GLIBC_MINOR, 4, -1)]
    platforms += [f"manylinux2014_{architecture}"]
    if architecture == "x86_64":
        platforms += ["manylinux2010_x86_64", "manylinux1_x86_64"]
    return set(cpython_tags((3, 11), ["cp311", "abi3", "none"], platforms)) | set(
        compatible_tags((3, 11), "cp311", platforms)
    )


@cache
def lock() -> dict[str, Any]:
    return tomllib.loads((REPO / "uv.lock").read_text())


def wheels(name: str, version: str) -> list[str]:
    (package,) = [
        p
        for p in lock()["package"]
        if canonicalize_name(p["name"]) == name and p.get("version") == version
    ]
    return [wheel["url"].rsplit("/", 1)[1] for wheel in package.get("wheels", [])]


@pytest.mark.parametrize("architecture", ARCHITECTURES)
@pytest.mark.parametrize("stage", python_images(), ids=image_id)
def test_every_python_dependency_of_an_image_has_a_wheel_for_both_architectures(
    stage: Stage, architecture: str
) -> None:
    # No wheel means a build from source, which needs a compiler the slim image does not have.
    supported = supported_tags(architecture)
    without = []
    for requirement in installed(stage):
        (version,) = [spec.version for spec in requirement.specifier]
        name = canonicalize_name(requirement.name)
        if name not in installed_on(stage, architecture):
            continue
        tags = {tag for wheel in wheels(name, version) for tag in parse_wheel_filename(wheel)[3]}
        if not tags & supported:
            without.append(f"{name}=={version}")
    assert not without, f"{image_id(stage)} on {architecture}: no wheel for {without}"


def test_no_python_image_carries_the_load_test() -> None:
    for stage in python_images():
        for architecture in ARCHITECTURES:
            assert not {"hdrhistogram", "matplotlib", "numpy"} & installed_on(stage, architecture)


@pytest.fixture(scope="module")
def compose(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return resolved(ENV_EXAMPLE.read_text(), tmp_path_factory.mktemp("images"))


def test_every_image_is_published_for_amd64_and_arm64(compose: dict[str, Any]) -> None:
    pulled = {s["image"] for s in compose["services"].values() if "build" not in s}
    built_from = {
        stage.base.replace("${" + variable + "}", VERSIONS[variable])
        for dockerfile in DOCKERFILES
        for stage in stages(dockerfile)
        for variable in re.findall(r"\$\{(\w+)\}", stage.base)
    }
    unverified = (pulled | built_from) - set(MULTI_ARCH_IMAGES)
    assert not unverified, f"read where {sorted(unverified)} is published for amd64 and arm64"


@pytest.mark.parametrize("stage", python_images(), ids=image_id)
def test_python_output_reaches_the_logs_as_it_is_written(stage: Stage) -> None:
    # Buffered, a process that waits or is killed shows nothing in `docker compose logs`.
    assert "PYTHONUNBUFFERED=1" in stage.env, image_id(stage)


@pytest.mark.parametrize("stage", python_images(), ids=image_id)
def test_a_python_image_starts_without_compiling_its_dependencies(stage: Stage) -> None:
    # Its user cannot write their bytecode: each container start would compile them anew.
    (sync,) = [r for r in stage.runs if "uv sync" in r]
    assert "--compile-bytecode" in shlex.split(sync), image_id(stage)


def test_every_download_is_checked_against_a_pinned_checksum() -> None:
    for dockerfile in DOCKERFILES:
        for stage in stages(dockerfile):
            for add in stage.adds:
                if "://" not in add:
                    continue
                destination = shlex.split(add)[-1]
                checks = [r for r in stage.runs if "sha256sum -c" in r and destination in r]
                assert checks or "--checksum=" in add, f"{dockerfile}: {add}"
                for check in checks:
                    # `echo "${X_SHA256}  /tmp/file" | sha256sum -c -`: the file's own checksum.
                    pinned = rf"\$\{{(\w+_SHA256)\}}\s+{re.escape(destination)}\b"
                    (variable,) = re.findall(pinned, check)
                    assert re.fullmatch(r"[0-9a-f]{64}", VERSIONS[variable]), variable


def test_the_build_context_holds_only_what_the_dockerfiles_copy() -> None:
    # .dockerignore excludes everything, then lets in what a COPY names: never .env (the
    # secrets), .venv, .stack, .git, nor any __pycache__.
    patterns = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert patterns[0] == "*"
    allowed = {p.removeprefix("!").rstrip("/") for p in patterns if p.startswith("!")}
    copied = {
        source.rstrip("/")
        for dockerfile in DOCKERFILES
        for stage in stages(dockerfile)
        for source in stage.copied
    }
    for source in copied:
        assert any(source == a or source.startswith(a + "/") for a in allowed), source
    assert not {".env", ".venv", ".stack", ".git"} & allowed
    assert {"**/__pycache__", "**/*.pyc"} <= set(patterns[patterns.index("*") :])
