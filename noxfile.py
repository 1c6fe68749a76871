"""
The supported-versions matrix: ``make matrix`` (or ``nox`` in a virtualenv
that has it: ``pip install --group nox``). See "Supported versions" in the
README.

Sessions (``nox -l`` lists them, ``nox -s NAME`` runs one):

- ``tests(django-5.2)``, ``tests(django-6.0)``, ``tests(django-6.1)``: the
  SQLite leg of ``tests/runall.py`` without its Redis parametrisations
  (``-k "not redis"``: ``make test`` runs those on Django 5.2) on
  each supported Django release, with the ``redis``, ``getstream``, ``api``,
  ``channels`` and, on Django 5.2, ``tasks`` extras. Django 5.2 runs on the oldest supported
  Python, Django 6 on Pythons it supports (3.12 and later).
- ``no_extras``: the package installed without any extra on Django 5.2 (no
  tasks framework at all: no ``django.tasks``, no backport; no redis, no
  stream-python, no Django REST framework, no Channels): every module imports, fan-out runs inline and
  the contract suite passes on the database backend.

Interpreters: ``python3.X`` on ``PATH``; when that is missing (or is a pyenv
shim for a version not selected), an interpreter installed by pyenv under
``$PYENV_ROOT/versions`` (default ``~/.pyenv``) is linked into
``.nox/interpreters`` and used. A session whose interpreter is not found is
skipped; on CI (``CI`` set) nox fails it instead.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess

import nox

nox.options.sessions = ["tests", "no_extras"]
nox.options.download_python = "never"
nox.options.default_venv_backend = "virtualenv"

PYPROJECT = nox.project.load_toml("pyproject.toml")
ROOT = os.path.dirname(os.path.abspath(__file__))

#: (Django release, Python to run it on).
MATRIX = [("5.2", "3.10"), ("6.0", "3.12"), ("6.1", "3.13")]
#: The Python of the no-extras session (Django 5.2: no django.tasks there).
NO_EXTRAS_PYTHON = "3.11"


def _works(path: str) -> bool:
    try:
        return subprocess.run([path, "-c", "import sys"], capture_output=True, timeout=30).returncode == 0
    except OSError:
        return False


def _find_interpreter(version: str) -> str | None:
    """Return a working interpreter for ``version`` ("3.12"), or ``None``."""
    on_path = shutil.which(f"python{version}")
    if on_path and _works(on_path):
        return on_path
    root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    for candidate in sorted(glob.glob(os.path.join(root, "versions", f"{version}.*", "bin", f"python{version}"))):
        if _works(candidate):
            return candidate
    return None


def _expose_interpreters(versions: set[str]) -> None:
    """Make ``python3.X`` of each version findable on ``PATH`` for nox."""
    links = os.path.join(ROOT, ".nox", "interpreters")
    for version in sorted(versions):
        on_path = shutil.which(f"python{version}")
        if on_path and _works(on_path):
            continue
        found = _find_interpreter(version)
        if found is None:
            continue  # nox reports it missing
        os.makedirs(links, exist_ok=True)
        link = os.path.join(links, f"python{version}")
        if os.path.realpath(link) != os.path.realpath(found):
            if os.path.lexists(link):
                os.remove(link)
            os.symlink(found, link)
    if os.path.isdir(links):
        os.environ["PATH"] = links + os.pathsep + os.environ.get("PATH", "")


_expose_interpreters({python for _, python in MATRIX} | {NO_EXTRAS_PYTHON})


def _group(name: str) -> tuple[str, ...]:
    return nox.project.dependency_groups(PYPROJECT, name)


@nox.session
@nox.parametrize(
    ["python", "django"],
    [nox.param(python, django, id=f"django-{django}") for django, python in MATRIX],
)
def tests(session: nox.Session, django: str) -> None:
    """The SQLite leg of tests/runall.py on one Django release."""
    extras = "redis,getstream,api,channels" if django.startswith("6.") else "redis,getstream,tasks,api,channels"
    session.install(f"Django~={django}.0", f".[{extras}]", *_group("test"))
    session.run("python", "-c", "import django; print('Django', django.get_version())")
    # The Redis parametrisations do not depend on the Django release beyond
    # what the database ones cover; the SQLite leg of `make test` runs them.
    session.run("python", "-m", "tests.runall", "--", "-k", "not redis", env={"STREAM_TEST_LEGS": "sqlite"})


@nox.session(python=NO_EXTRAS_PYTHON)
def no_extras(session: nox.Session) -> None:
    """The package without extras: it imports, and the contract suite passes on the database backend."""
    session.install("Django~=5.2.0", ".", *_group("test-core"))
    session.run(
        "python",
        "-c",
        "import importlib.util, sys; "
        "present = [m for m in ('django.tasks', 'django_tasks', 'redis', 'stream', 'model_utils', 'rest_framework',"
        " 'drf_spectacular', 'channels')"
        " if importlib.util.find_spec(m)]; "
        "sys.exit(f'not a bare install, found: {present}' if present else 0)",
    )
    session.run(
        "python",
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "tests/test_optional_dependencies.py",
        "tests/contract",
        "-k",
        "test_optional_dependencies or database",
        env={"STREAM_TEST_DB": "sqlite"},
    )
