"""The grading workflow of a learner's fork (.github/workflows/grade.yml): valid for GitHub, wired as intended,
and its shell steps run here as a runner would run them. The steps that only GitHub can run (``uses:``
actions) are checked against GitHub's workflow schema alone."""

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from importlib.metadata import version
from pathlib import Path

import pytest
import yaml

from shared.data import OFFICIAL_SHA256, locate_imdb
from shared.grading.lessons import ROOT

WORKFLOW = ROOT / ".github" / "workflows" / "grade.yml"
GRADE, SUMMARY, UPLOAD = "Grade", "Write the report to the job summary", "Upload the report"
CHECKS = "Take the course's checks"
# Steps a run skips when it restores the .venv from the cache, as these tests do: they use the course's own .venv.
WHEN_NO_VENV = "steps.venv.outputs.cache-hit != 'true'"
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def load(path: Path = WORKFLOW) -> dict:
    # BaseLoader keeps every scalar a string, as GitHub reads them: YAML 1.1 would make the key `on` True
    return yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.BaseLoader)


@pytest.fixture(scope="module")
def job() -> dict:
    return load()["jobs"]["grade"]


def step(job: dict, name: str) -> dict:
    return next(s for s in job["steps"] if s.get("name") == name)


def validate(path: Path) -> subprocess.CompletedProcess:
    """check-jsonschema against GitHub's workflow schema, which it carries: no network needed."""
    return subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows",
                           str(path)], capture_output=True, text=True, timeout=120)


# --------------------------------------------------------------------------- what GitHub accepts


def test_the_workflow_is_valid_for_github(tmp_path):
    done = validate(WORKFLOW)
    assert done.returncode == 0, done.stdout + done.stderr
    broken = tmp_path / "grade.yml"  # the schema does reject a broken workflow
    broken.write_text(WORKFLOW.read_text().replace("runs-on:", "runs_on:"))
    assert validate(broken).returncode == 1


def test_it_runs_on_push_pull_request_and_by_hand_with_arguments_for_the_grade(job):
    triggers = load()["on"]
    assert {"push", "pull_request", "workflow_dispatch"} <= set(triggers)
    assert "args" in triggers["workflow_dispatch"]["inputs"]
    assert step(job, GRADE)["env"]["GRADE_ARGS"] == "${{ inputs.args }}"
    assert job["runs-on"] == "ubuntu-latest"


def test_actions_are_pinned_to_a_major_version_or_a_commit(job):
    uses = [s["uses"] for s in job["steps"] if "uses" in s]
    assert uses and all(re.fullmatch(r"[\w.-]+/[\w./-]+@(v\d+|[0-9a-f]{40})", action) for action in uses), uses


# --------------------------------------------------------------------------- failures and what always runs


def test_a_failed_check_fails_the_job_and_the_report_still_comes_out(job):
    grade = step(job, GRADE)
    assert "if" not in grade and "continue-on-error" not in grade and "continue-on-error" not in job
    after = job["steps"][job["steps"].index(grade) + 1:]
    assert {SUMMARY, UPLOAD} <= {s["name"] for s in after}
    assert all(s.get("if", "").startswith("always()") for s in after), [s["name"] for s in after]
    report_folder = '"$RUNNER_TEMP/grade/'
    assert grade["run"].count(report_folder) == 3 and report_folder in step(job, SUMMARY)["run"]
    assert step(job, UPLOAD)["with"]["path"] == "${{ runner.temp }}/grade/"


# --------------------------------------------------------------------------- caches


def restore_and_save(job: dict, step_id: str) -> tuple[dict, dict]:
    """The steps restoring and saving the cache that step ``step_id`` restores, checked to agree."""
    restore = next(s for s in job["steps"] if s.get("id") == step_id)
    saved_key = f"${{{{ steps.{step_id}.outputs.cache-primary-key }}}}"
    save = next(s for s in job["steps"] if s.get("with", {}).get("key") == saved_key)
    assert restore["uses"].startswith("actions/cache/restore@") and save["uses"].startswith("actions/cache/save@")
    assert save["with"]["path"] == restore["with"]["path"]
    assert f"steps.{step_id}.outputs.cache-hit != 'true'" in save["if"]  # a hit is saved already
    return restore, save


def test_the_venv_is_keyed_by_the_exact_python_and_every_file_the_pins_stamp_reads(job):
    restore, save = restore_and_save(job, "venv")
    key = restore["with"]["key"]
    assert restore["with"]["path"] == ".venv" and "steps.python.outputs.python-version" in key
    patterns = re.search(r"hashFiles\((.*?)\)", key)[1]
    hashed = {path.name for pattern in re.findall(r"'([^']+)'", patterns) for path in ROOT.glob(pattern)}
    stamped = re.search(r"pins_digest\(\) \{ cat (.*?) \|", (ROOT / "course").read_text())[1].split()
    assert hashed == set(stamped)
    steps = job["steps"]
    assert steps.index(save) > steps.index(step(job, "Set up the course"))  # saved once set up, before grading
    assert steps.index(save) < steps.index(step(job, GRADE)) and save["if"] == WHEN_NO_VENV


def test_pips_cache_is_restored_by_prefix_when_the_venv_must_be_built(job):
    restore, save = restore_and_save(job, "pip")
    assert restore["if"] == WHEN_NO_VENV and WHEN_NO_VENV in save["if"]
    assert restore["with"]["key"].startswith(restore["with"]["restore-keys"])


def test_the_imdb_data_is_keyed_by_the_archives_sha256_and_saved_even_when_a_check_fails(job):
    restore, save = restore_and_save(job, "imdb")
    assert restore["with"]["path"] == "${{ env.IMDB_CACHE_DIR }}"
    assert job["env"]["IMDB_CACHE_DIR"].startswith("${{ github.workspace }}/")
    assert OFFICIAL_SHA256 in restore["with"]["key"] and save["if"].startswith("always()")


def test_the_course_is_set_up_with_the_cpu_build_of_torch(job):
    assert step(job, "Set up the course")["run"].strip() == "./course setup --cpu"


# --------------------------------------------------------------------------- the shell steps, run


def run_step(job: dict, name: str, runner_temp: Path, env: dict[str, str] | None = None,
             args: str = "") -> subprocess.CompletedProcess:
    """Run a step's script as a runner does (bash -eo pipefail, in the checkout), the ``${{ }}`` expressions
    of its environment resolved, RUNNER_TEMP and GITHUB_STEP_SUMMARY in ``runner_temp``; ``args`` is the
    workflow_dispatch input."""
    contexts = {"github.workspace": str(ROOT), "inputs.args": args}
    declared = job.get("env", {}) | step(job, name).get("env", {})
    resolved = {key: EXPRESSION.sub(lambda m: contexts[m[1]], value) for key, value in declared.items()}
    github = {"GITHUB_WORKSPACE": str(ROOT), "RUNNER_TEMP": str(runner_temp),
              "GITHUB_STEP_SUMMARY": str(runner_temp / "summary.md")}
    script = runner_temp / "step.sh"
    script.write_text(step(job, name)["run"])
    return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)], cwd=ROOT,
                          env=os.environ | resolved | github | (env or {}), capture_output=True, text=True,
                          timeout=1_800)


def test_every_shell_step_is_run_here_or_skipped_on_a_cached_venv(job):
    shell_steps = {s["name"]: s.get("if") for s in job["steps"] if "run" in s}
    ran_here = {"Set up the course", GRADE, SUMMARY, CHECKS}
    assert {name for name, condition in shell_steps.items() if condition != WHEN_NO_VENV} == ran_here


def graded(job: dict, tmp_path: Path, args: str) -> tuple[int, str, dict, ET.Element]:
    """Run the steps of a run that restored its .venv, grading with ``args``: the grade step's exit status,
    then the job summary, the JSON report and the JUnit XML report."""
    if not version("torch").endswith("+cpu"):
        pytest.skip("this .venv holds PyTorch's CUDA build, which the workflow's set-up would replace")
    data = {"IMDB_DATA_DIR": str(locate_imdb())}  # the data this machine has: never a download into the checkout
    setup = run_step(job, "Set up the course", tmp_path)
    assert setup.returncode == 0, setup.stderr
    grade = run_step(job, GRADE, tmp_path, data, args)
    summary = run_step(job, SUMMARY, tmp_path)
    assert summary.returncode == 0, summary.stderr
    report = tmp_path / "grade"
    return (grade.returncode, (tmp_path / "summary.md").read_text(), json.loads((report / "report.json").read_text()),
            ET.parse(report / "report.xml").getroot())


@pytest.mark.slow
@pytest.mark.real_data
def test_a_passing_grade_writes_the_summary_and_both_reports(job, tmp_path):
    status, summary, report, junit = graded(job, tmp_path, "--lesson 0 --target solutions")
    assert status == 0
    checks = len(report["checks"])
    assert checks and report["failed"] == 0 and report["points"] == report["possible"]
    assert summary.startswith("## Grade report\n") and f"**points: {report['points']}/{report['possible']}**" in summary
    assert summary.count("| 00\\_setup | ") == 3 and "FAILED" not in summary and "every exercise passes" in summary
    assert [suite.get("name") for suite in junit] == ["00_setup"]
    assert len(junit.findall(".//testcase")) == checks and not junit.findall(".//failure")


@pytest.mark.slow
@pytest.mark.real_data
def test_a_failing_grade_fails_its_step_and_still_reports(job, tmp_path):
    status, summary, report, junit = graded(job, tmp_path, "--lesson 0")  # the untouched exercises
    assert status == 1
    checks = len(report["checks"])
    assert checks and report["to_do"] == checks and report["failed"] == 0 and report["points"] == 0
    assert summary.count("| to do |") == 3 and "| Exercise 0.1: " in summary and "next: lessons/00" in summary
    assert junit.get("skipped") == str(checks) and len(junit.findall(".//skipped")) == checks
    assert junit.get("failures") == "0" and not junit.findall(".//failure")


def test_the_summary_says_so_when_the_grade_wrote_no_report(job, tmp_path):
    done = run_step(job, SUMMARY, tmp_path)
    assert done.returncode == 0
    assert (tmp_path / "summary.md").read_text().startswith("No grade report: the grade did not finish")


def git(folder: Path, *args: str) -> str:
    identity = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "t",
                "GIT_COMMITTER_EMAIL": "t@example.org"}
    return subprocess.run(["git", *args], cwd=folder, env=os.environ | identity, capture_output=True, text=True,
                          check=True).stdout


def commit_check(folder: Path, text: str) -> None:
    for part in ("tests/lessons/test_00_setup.py", "shared/grading/report.py"):
        (folder / part).parent.mkdir(parents=True, exist_ok=True)
        (folder / part).write_text(text)
    git(folder, "add", "-A")
    git(folder, "commit", "-qm", text)


def test_a_fork_is_graded_with_the_courses_checks_as_of_the_commit_it_grew_from(job, tmp_path):
    """The fork edits a check; the course has moved on since the fork: the step restores the course's check of
    the commit both share, neither the fork's edit nor the course's newer one."""
    assert step(job, CHECKS)["if"] == "github.event.repository.fork"
    course, fork, bin_folder = tmp_path / "course", tmp_path / "fork", tmp_path / "bin"
    course.mkdir()
    git(course, "init", "-q")
    commit_check(course, "the course's check")
    git(tmp_path, "clone", "-q", str(course), str(fork))
    commit_check(course, "the course's newer check")
    commit_check(fork, "a check the fork edited to pass")
    bin_folder.mkdir()
    (bin_folder / "gh").write_text(f"#!/bin/sh\necho {course}\n")  # what GitHub's API says of the fork's parent
    (bin_folder / "gh").chmod(0o755)
    done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step(job, CHECKS)["run"]],
                          cwd=fork, capture_output=True, text=True, timeout=60,
                          env=os.environ | {"PATH": f"{bin_folder}:{os.environ['PATH']}",
                                            "GITHUB_REPOSITORY": "learner/fork"})
    assert done.returncode == 0, done.stderr
    for part in ("tests/lessons/test_00_setup.py", "shared/grading/report.py"):
        assert (fork / part).read_text() == "the course's check", part
    assert done.stdout.startswith(f"Grading with the checks of {course} at ")
