"""The house rules of the course's code (README, "How the course is built"), read from the code itself.

- Nothing imports ``lessons/`` or ``solutions/``; nothing but the grader (``shared/grading``) runs a lesson file.
- The runtime (``shared``, ``demo``) and the lessons never import the grader; of the benchmarks, only the one
  that grades mutants does.
- What a lesson exports (``shared/lessons/``) is complete: every global name its functions use is defined.
- A module of ``shared/`` reads in one sitting: 400 lines at most.
"""

import ast
import json
import re
import subprocess
import sys

import pytest

from shared.paths import ROOT

FOLDERS = ("shared", "benchmarks", "demo", "website", "solutions", "lessons")
GRADER = "shared.grading"
MAY_IMPORT_THE_GRADER = {"benchmarks/mutation.py"}  # it grades the mutants it makes
RUNS_CODE = {"import_lesson", "runpy", "exec", "run_path"}


def course_files() -> list[str]:
    return sorted(path.relative_to(ROOT).as_posix() for folder in FOLDERS for path in (ROOT / folder).rglob("*.py")
                  if "__pycache__" not in path.parts)


def imported_modules(path: str) -> set[str]:
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found |= {node.module, *(f"{node.module}.{alias.name}" for alias in node.names)}
    return found


def names_used(path: str) -> set[str]:
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)} | {
        node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)} | imported_modules(path)


@pytest.mark.parametrize("path", course_files())
def test_nothing_imports_a_lesson_or_a_solution_file(path):
    bad = {name for name in imported_modules(path) if name.split(".")[0] in ("lessons", "solutions")}
    assert not bad, f"{path} imports {bad}: import what the lesson exports from shared.lessons instead"


@pytest.mark.parametrize("path", [path for path in course_files() if not path.startswith("shared/grading/")])
def test_only_the_grader_runs_lesson_files_and_the_runtime_never_imports_it(path):
    runs = names_used(path) & RUNS_CODE
    assert not runs, f"{path} uses {runs}: only the grader runs a lesson file; import its export from shared.lessons"
    if path not in MAY_IMPORT_THE_GRADER:
        grader = {name for name in imported_modules(path) if name == GRADER or name.startswith(GRADER + ".")}
        assert not grader, f"{path} imports the grader ({grader}): the runtime and the lessons stand without it"


def test_the_entry_point_runs_no_lesson_file():
    """./course train runs the lesson's export (shared.train_command), not solutions/03_lstm.py."""
    script = (ROOT / "course").read_text(encoding="utf-8")
    runs = re.findall(r"python\S*\s+(?!-m\b)(\S+\.py)", script)
    assert not runs and "shared.train_command" in script, runs


@pytest.mark.slow
def test_the_runtime_loads_no_grader_module():
    """Importing what ./course predict, the demo and a saved model's loading import leaves the grader unloaded."""
    code = ("import sys, json, shared.predict_command, shared.prediction, demo.app, shared.lessons.lstm, "
            "shared.lessons.finetune; print(json.dumps(sorted(sys.modules)))")
    loaded = json.loads(subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                                       check=True).stdout)
    assert "shared.lessons.lstm" in loaded and not [name for name in loaded if name.startswith(GRADER)]


UNDEFINED = """
import builtins, dis, importlib, inspect, json, sys, types
found = {}
for name in sys.argv[1:]:
    module = importlib.import_module(f"shared.lessons.{name}")
    own = [value for value in vars(module).values() if getattr(value, "__module__", None) == module.__name__]
    functions = [value for value in own if inspect.isfunction(value)]
    functions += [item for value in own if inspect.isclass(value) for item in vars(value).values()
                  if inspect.isfunction(item)]
    codes = [function.__code__ for function in functions if function.__code__.co_filename == module.__file__]
    missing = set()
    while codes:
        code = codes.pop()
        codes += [constant for constant in code.co_consts if isinstance(constant, types.CodeType)]
        missing |= {i.argval for i in dis.get_instructions(code) if i.opname in ("LOAD_GLOBAL", "LOAD_NAME")
                    and i.argval not in vars(module) and not hasattr(builtins, i.argval)}
    found[name] = sorted(missing)
print(json.dumps(found))
"""


EXPORTED = {path.stem for path in (ROOT / "shared" / "lessons").glob("*.py")} - {"__init__"}
BY_BACKEND = {"torch": ["data", "classical", "lstm", "finetune", "frozen_embeddings", "distributed", "error_analysis"],
              "tensorflow": ["small_bert"]}  # one process each: a process has one Keras backend


def test_every_exported_module_is_checked_in_the_process_of_its_backend():
    assert EXPORTED == {name for names in BY_BACKEND.values() for name in names}


@pytest.mark.slow
@pytest.mark.parametrize("modules", BY_BACKEND.values(), ids=BY_BACKEND.keys())
def test_each_exported_module_defines_every_name_its_code_uses(modules):
    """A cell tagged "save" that uses a name of a cell left untagged would fail only when called: tag both."""
    result = subprocess.run([sys.executable, "-c", UNDEFINED, *modules], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    missing = {name: names for name, names in json.loads(result.stdout).items() if names}
    assert not missing, f"names used but not exported (tag their cells 'save'): {missing}"



@pytest.mark.parametrize("path", [path for path in course_files() if path.startswith("shared/")])
def test_a_module_of_the_course_package_reads_in_one_sitting(path):
    lines = (ROOT / path).read_text(encoding="utf-8").count("\n")
    assert lines <= 400, f"{path} has {lines} lines: split it by job"
