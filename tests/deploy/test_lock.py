"""requirements.lock (`make lock`, pip-compile --generate-hashes from pyproject.toml) is what the
image installs with --require-hashes: it must agree with every pin in pyproject.toml and carry
hashes for every package, the build backend included."""
from __future__ import annotations

import re
import tomllib

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from shared.config import ROOT

LOCK = ROOT / "requirements.lock"


def locked() -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes), read as pip reads the file (backslash continuations)."""
    text = LOCK.read_text(encoding="utf-8").replace("\\\n", " ")
    packages = {}
    for line in text.splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        assert not line.startswith("-"), f"an option in the lock: {line!r}"  # no index or find-links
        m = re.fullmatch(r"([A-Za-z0-9._-]+)==(\S+)((?:\s+--hash=sha256:[0-9a-f]{64})*)", line)
        assert m, f"not an exact pin with hashes: {line!r}"
        packages[canonicalize_name(m.group(1))] = (m.group(2), re.findall(r"sha256:([0-9a-f]{64})", m.group(3)))
    return packages


def test_every_locked_package_is_pinned_with_hashes():
    packages = locked()
    assert len(packages) > 30
    for name, (version, hashes) in packages.items():
        assert hashes, f"{name}=={version} has no hash"


def test_the_lock_agrees_with_every_pin_of_pyproject():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    packages = locked()
    for spec in pyproject["project"]["dependencies"]:
        req = Requirement(spec)
        (pin,) = list(req.specifier)
        assert pin.operator == "==", f"{spec}: pyproject.toml pins exactly"
        name = canonicalize_name(req.name)
        assert name in packages, f"{req.name} is not in requirements.lock: run make lock"
        assert packages[name][0] == pin.version, f"{req.name}: pyproject {pin.version}, lock {packages[name][0]}: run make lock"
    # The test and local extras are not installed in the image.
    for extra in ("test", "local"):
        for spec in pyproject["project"]["optional-dependencies"][extra]:
            assert canonicalize_name(Requirement(spec).name) not in packages, spec


def test_the_build_backend_is_locked_too():
    """The image builds the project with --no-build-isolation: its backend comes from the lock."""
    packages = locked()
    for spec in tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["build-system"]["requires"]:
        req = Requirement(spec)
        name = canonicalize_name(req.name)
        assert name in packages, f"{req.name} (build-system) is not in requirements.lock"
        assert SpecifierSet(str(req.specifier)).contains(packages[name][0]), (spec, packages[name][0])
