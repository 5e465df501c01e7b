"""The pins agree everywhere, and the installed environment is the pinned one."""

import re
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def pins(path: Path) -> dict[str, str]:
    lines = (line.split("#")[0].strip() for line in path.read_text().splitlines())
    return dict(line.split()[0].split("==") for line in lines if line)  # options such as --hash follow


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def extras() -> dict[str, str]:
    """The pins of pyproject.toml's optional dependencies (the grader, the demo, the reference, dev)."""
    groups = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    return dict(pin.split("==") for group in groups.values() for pin in group)


def test_environment_yml_names_the_requirements_and_extras_pins():
    conda = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(item["pip"] for item in conda["dependencies"] if isinstance(item, dict))
    assert "python=3.11" in conda["dependencies"]
    assert dict(line.split("==") for line in pip_section) == pins(ROOT / "requirements.txt") | extras()


def test_constraints_lock_every_requirement_at_the_same_version():
    locked = {normalise(name): v for name, v in pins(ROOT / "constraints.txt").items()}
    for name, pinned in (pins(ROOT / "requirements.txt") | extras()).items():
        assert locked.get(normalise(name)) == pinned, f"{name}: pinned {pinned}, constraints {locked.get(name)}"


def test_every_direct_pin_says_why():
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        assert not line.strip() or line.startswith("#") or "  # " in line, f"requirements.txt: {line!r} gives no reason"
    text = (ROOT / "pyproject.toml").read_text()
    for name, pinned in extras().items():
        assert re.search(rf'"{re.escape(name)}=={re.escape(pinned)}"\]?,?\s+# \S', text), f"{name} gives no reason"


@pytest.mark.parametrize("name, pinned", [*pins(ROOT / "requirements.txt").items(), *extras().items(),
                                          *pins(ROOT / "requirements-weights.txt").items()])
def test_installed_version_is_the_pin(name, pinned):
    assert version(name).split("+")[0] == pinned
