"""The mutation benchmark (benchmarks/mutation.py): its mutants, and the survivors judged equivalent by hand,
which are keyed by the mutant's name (its exercise and the code it changes) and so go stale when that code does."""

import pytest

from benchmarks.mutation import EQUIVALENT, mutants, record
from shared.grading.generate import BEGIN, END
from shared.paths import ROOT


@pytest.mark.parametrize("lesson", sorted(EQUIVALENT))
def test_every_mutant_judged_equivalent_is_one_the_solution_still_yields(lesson):
    names = {mutant.name for mutant in mutants((ROOT / "solutions" / f"{lesson}.py").read_text(encoding="utf-8"))}
    stale = sorted(set(EQUIVALENT[lesson]) - names)
    assert not stale, f"{lesson}: no mutant of the solution is named {stale[0]!r}: its code changed? judge it again"


def test_mutants_change_the_solution_regions_alone_and_name_what_changed():
    text = (f"# ## Exercise 9.1 — Add\n\ndef add(a, b):\n    {BEGIN}\n    return a * b if a > 0 else 2\n    {END}\n\n\n"
            "def untouched(a):\n    return a - 1\n")
    found = mutants(text)
    assert [mutant.name for mutant in found] == [
        "9.1: operator: 'a * b' -> '(a // b)'", "9.1: comparison: 'a > 0' -> '(a >= 0)'",
        "9.1: constant: '0' -> '1'", "9.1: constant: '2' -> '3'"]  # and nothing of untouched()
    assert [mutant.where for mutant in found] == ["line 5:11", "line 5:20", "line 5:24", "line 5:31"]
    assert all(mutant.exercise == "9.1" and mutant.source.endswith("return a - 1\n") for mutant in found)


def test_a_mutants_name_stays_when_lines_are_added_above_it_and_the_same_change_twice_is_numbered_in_order():
    body = f"def add(a, b):\n    {BEGIN}\n    return (a + 1, b + 1)\n    {END}\n"
    names = [mutant.name for mutant in mutants(f"# ## Exercise 9.1 — Add\n\n{body}")]
    assert names == ["9.1: operator: 'a + 1' -> '(a - 1)'", "9.1: constant: '1' -> '2'",
                     "9.1: operator: 'b + 1' -> '(b - 1)'", "9.1: constant: '1' -> '2' #2"]
    assert [mutant.name for mutant in mutants(f"# A header\n# of two lines\n# ## Exercise 9.1 — Add\n\n{body}")] == names


def test_a_long_change_is_named_on_one_line_and_cut():
    call = "total(" + ",\n          ".join(f"argument_{i}" for i in range(12)) + ")"
    text = f"# ## Exercise 9.1 — Sum\n\ndef add():\n    {BEGIN}\n    return {call}\n    {END}\n"
    name = mutants(text)[0].name
    assert name.startswith("9.1: arguments swapped: 'total(argument_0, argument_1, argument_2, ")
    assert "\n" not in name and name.count("...") == 2


def test_a_mutant_judged_equivalent_but_killed_is_counted_killed_and_shows_the_check_that_failed(monkeypatch):
    text = f"# ## Exercise 9.1 — Add\n\ndef add(a, b):\n    {BEGIN}\n    return a * b if a > 0 else 2\n    {END}\n"
    found = mutants(text)
    names = [mutant.name for mutant in found]
    monkeypatch.setitem(EQUIVALENT, "09_add", {names[0]: "judged the same", names[1]: "judged the same too"})
    kills = {names[0]: "test_add: expected 6, got 1", names[1]: "", names[2]: "", names[3]: "test_add: expected 2"}
    result = record(ROOT / "solutions" / "09_add.py", found, kills, 1.0)
    assert result["equivalent"] == {names[1]: "judged the same too"}
    assert result["equivalent_killed"] == {names[0]: "test_add: expected 6, got 1"}
    assert (result["killed"], result["survived"], result["survivors"]) == (2, 1, [names[2]])
    assert result["score"] == round(2 / 3, 4)
