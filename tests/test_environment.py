"""The pins agree everywhere, and the installed environment is the pinned one."""

import re
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


def test_environment_yml_names_the_requirements_pins():
    conda = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(item["pip"] for item in conda["dependencies"] if isinstance(item, dict))
    assert "python=3.11" in conda["dependencies"]
    assert dict(line.split("==") for line in pip_section) == pins(ROOT / "requirements.txt")


def test_constraints_lock_every_requirement_at_the_same_version():
    locked = {normalise(name): v for name, v in pins(ROOT / "constraints.txt").items()}
    for name, pinned in pins(ROOT / "requirements.txt").items():
        assert locked.get(normalise(name)) == pinned, f"{name}: requirements {pinned}, constraints {locked.get(name)}"


@pytest.mark.parametrize("name, pinned", [*pins(ROOT / "requirements.txt").items(),
                                          *pins(ROOT / "requirements-weights.txt").items()])
def test_installed_version_is_the_pin(name, pinned):
    assert version(name).split("+")[0] == pinned
