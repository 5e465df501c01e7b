"""Each "— <mistake>" diagnosis of the graded checks names the mistake it describes, and not a near miss.

A check of tests/lessons is called with a stand-in lesson whose function makes one mistake: its feedback
must name that mistake, and a near miss (another wrong answer, close to it) must fail without being told
so. No model is trained and no data is read.
"""

import re
import sys
from collections import Counter
from itertools import islice, product
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).with_name("lessons")))  # the checks import their helpers as top-level modules

import test_01_data as lesson_01  # noqa: E402
from checking import which_of  # noqa: E402

from shared.data import Imdb  # noqa: E402


def feedback(check, lesson, cases=((),)) -> str:
    """The failure messages of ``check(lesson, *case)`` over ``cases``, one per line."""
    lines = []
    for case in cases:
        try:
            check(lesson, *case)
        except AssertionError as error:
            lines.append(str(error))
    return "\n".join(lines)


def cases_of(*checks) -> list[tuple]:
    """The argument tuples of checks parametrized with pytest.mark.parametrize."""
    return [tuple(values) for check in checks for mark in check.pytestmark if mark.name == "parametrize"
            for values in mark.args[1]]


def versus(rows: list[tuple]) -> list[str]:
    """Readable ids: each row's answer, then its near miss ("spaces kept, not punctuation deleted")."""
    return [f"{row[-2]}, not {row[-1]}" for row in rows]


def assert_told_apart(told: str, near: str, diagnosis: str) -> None:
    """The answer was told ``diagnosis``; the near miss failed too, and was not."""
    assert f"— {diagnosis}" in told, told
    assert near, "the near miss passed: it is no wrong answer"
    assert f"— {diagnosis}" not in near, near


# --------------------------------------------------------------------------- which_of


TABLE = [("one", 1), ("two", 2), ("two", 2.5), ("alike a", 5), ("alike b", 5)]


@pytest.mark.parametrize("found, told", [(1, " — one"), (2.5, " — two"), (3, ""), (5, "")],
                         ids=["one mistake", "a mistake written another way", "no mistake",
                              "two mistakes alike: neither named"])
def test_which_of_names_a_mistake_only_when_it_is_the_only_one_that_fits(found, told):
    assert which_of(found, TABLE) == told


# --------------------------------------------------------------------------- 1.1 describe_split


def describe_split(positive=lambda labels: int(np.sum(labels == 1)), has_break=lambda text: "<br />" in text):
    """An answer to exercise 1.1 that counts positives and reviews with a break as told."""
    def describe(reviews):
        count = positive(reviews.labels)
        return {"reviews": len(reviews), "positive": count, "negative": len(reviews) - count,
                "with_html_breaks": sum(has_break(text) for text in reviews.texts)}
    return describe


SWAPPED = {"positive": lambda labels: int(np.sum(labels == 0))}
MASK_LENGTH = {"positive": lambda labels: len(labels == 1)}
EVERY_BREAK = {"has_break": lambda text: text.count("<br />")}
LETTERS_BR = {"has_break": lambda text: "br" in text}
NOT_FIRST = {"has_break": lambda text: text.find("<br />") > 0}
LAST_ONLY = {"has_break": lambda text: text.endswith("<br />")}


@pytest.mark.parametrize("check, diagnosis, answer, near_miss", [
    (lesson_01.test_describe_split_on_an_unbalanced_handmade_split, "the labels are swapped", SWAPPED, MASK_LENGTH),
    (lesson_01.test_describe_split_on_an_unbalanced_handmade_split, "every review counted as positive", MASK_LENGTH,
     SWAPPED),
    (lesson_01.test_describe_split_on_an_unbalanced_handmade_split, "counted every '<br />'", EVERY_BREAK, LETTERS_BR),
    (lesson_01.test_describe_split_on_an_unbalanced_handmade_split, "counted the letters 'br'", LETTERS_BR,
     EVERY_BREAK),
    (lesson_01.test_describe_split_counts_breaks_at_either_end_of_a_review, "missed the reviews that start",
     NOT_FIRST, LAST_ONLY),
], ids=["labels swapped", "mask length", "every break", "letters br", "break first missed"])
def test_describe_split_diagnoses(check, diagnosis, answer, near_miss):
    told, near = (feedback(check, SimpleNamespace(describe_split=describe_split(**how))) for how in (answer, near_miss))
    assert_told_apart(told, near, diagnosis)


# --------------------------------------------------------------------------- 1.2 clean_review


def squash(text: str) -> str:
    return " ".join(re.sub(r"[^a-z]+", " ", text).split())


def clean(text: str) -> str:
    return squash(re.sub(r"<[^>]*>", " ", text).lower())


CLEANING = {  # answers to exercise 1.2 as learners write them, each with one mistake
    "no lower-casing": lambda raw: squash(re.sub(r"<[^>]*>", " ", raw)),
    "tags kept": lambda raw: squash(raw.lower()),
    "one tag replaced": lambda raw: squash(raw.replace("<br />", " ").lower()),
    "tags removed without a space": lambda raw: squash(re.sub(r"<[^>]*>", "", raw).lower()),
    "greedy tag pattern": lambda raw: squash(re.sub(r"<.*>", " ", raw).lower()),
    "punctuation deleted": lambda raw: " ".join(re.sub(r"[^a-z\s]", "", re.sub(r"<[^>]*>", " ", raw).lower()).split()),
    "spaces kept": lambda raw: re.sub(r"[^a-z]+", " ", re.sub(r"<[^>]*>", " ", raw).lower()),
    "every alphabet": lambda raw: " ".join("".join(c if c.isalpha() else " " for c in
                                                   re.sub(r"<[^>]*>", " ", raw).lower()).split()),
    "tags with attributes kept": lambda raw: squash(re.sub(r"</?\w+\s*/?>", " ", raw).lower()),
}


def cleaning_feedback(answer: str) -> str:
    checks = (lesson_01.test_clean_review, lesson_01.test_clean_review_on_its_edges)
    lesson = SimpleNamespace(clean_review=CLEANING[answer])
    return "\n".join(feedback(check, lesson, cases_of(check)) for check in checks)


CLEANING_ROWS = [
    ("upper-case letters were dropped", "no lower-casing", "one tag replaced"),
    ("the HTML tags became words", "tags kept", "one tag replaced"),
    ("only '<br />' was replaced", "one tag replaced", "tags kept"),
    ("words on either side of a tag were glued together", "tags removed without a space", "greedy tag pattern"),
    ("a greedy tag pattern", "greedy tag pattern", "tags removed without a space"),
    ("punctuation was deleted", "punctuation deleted", "spaces kept"),
    ("extra spaces were kept", "spaces kept", "punctuation deleted"),
    ("letters outside a-z were kept", "every alphabet", "spaces kept"),
    ("a tag with attributes was kept", "tags with attributes kept", "one tag replaced"),
]


@pytest.mark.parametrize("diagnosis, answer, near_miss", CLEANING_ROWS, ids=versus(CLEANING_ROWS))
def test_clean_review_diagnoses(diagnosis, answer, near_miss):
    assert_told_apart(cleaning_feedback(answer), cleaning_feedback(near_miss), diagnosis)


# --------------------------------------------------------------------------- 1.3 review_lengths


REVIEWS = ["Great film.<br />Loved it!", "", "10/10", "A <i>dull</i>, long one", "OK"] * 10
LENGTHS = {
    "characters of the cleaned text": lambda texts: np.array([len(clean(t)) for t in texts]),
    "characters of the raw text": lambda texts: np.array([len(t) for t in texts]),
    "raw text split": lambda texts: np.array([len(t.split()) for t in texts]),
    "split on a space": lambda texts: np.array([len(clean(t).split(" ")) for t in texts]),
}


LENGTH_ROWS = [
    (lesson_01.test_review_lengths, "counted characters, not words", "characters of the cleaned text",
     "raw text split"),
    (lesson_01.test_review_lengths, "counted characters, not words", "characters of the raw text", "raw text split"),
    (lesson_01.test_review_lengths, "split the raw text", "raw text split", "characters of the raw text"),
    (lesson_01.test_review_lengths_of_reviews_without_words, "a review without words counted as one word",
     "split on a space", "raw text split"),
]


@pytest.mark.parametrize("check, diagnosis, answer, near_miss", LENGTH_ROWS, ids=versus(LENGTH_ROWS))
def test_review_lengths_diagnoses(check, diagnosis, answer, near_miss):
    small_imdb = SimpleNamespace(test=SimpleNamespace(texts=REVIEWS))
    cases = [(small_imdb,)] if check is lesson_01.test_review_lengths else [()]
    told, near = (feedback(check, SimpleNamespace(clean_review=clean, review_lengths=LENGTHS[name]), cases)
                  for name in (answer, near_miss))
    assert_told_apart(told, near, diagnosis)


# --------------------------------------------------------------------------- 1.4 build_vocabulary


def vocabulary_of(split=lambda text: clean(text).split(), above: int = 0, fewer: int = 0,
                  alphabetical: bool = False, ties_alphabetical: bool = False, start: int = 2):
    """An answer to exercise 1.4; the keywords name its mistake (``above``: a count must exceed min_count by it)."""
    def build_vocabulary(texts, max_words=10_000, min_count=5):
        counts = Counter(word for text in texts for word in split(text))
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0])) if ties_alphabetical \
            else counts.most_common()
        frequent = [word for word, count in ranked[:max_words - fewer] if count >= min_count + above]
        words = sorted(frequent) if alphabetical else frequent
        return {"<PAD>": 0, "<UNK>": 1} | {word: i for i, word in enumerate(words, start=start)}
    return build_vocabulary


SMALL = lesson_01.test_vocabulary_of_a_small_corpus
VOCABULARIES = {
    "count > min_count": dict(above=1),
    "max_words - 2 words": dict(fewer=2),
    "raw words": dict(split=str.split),
    "alphabetical ids": dict(alphabetical=True),
    "ids from 1": dict(start=1),
    "min_count ignored": dict(above=-100),
    "ties alphabetical": dict(ties_alphabetical=True),
}


VOCABULARY_ROWS = [
    (SMALL, "words seen exactly min_count times are missing", "count > min_count", "max_words - 2 words"),
    (SMALL, "max_words - 2 words", "max_words - 2 words", "count > min_count"),
    (SMALL, "words counted from the raw text", "raw words", "alphabetical ids"),
    (SMALL, "ids in alphabetical order", "alphabetical ids", "ids from 1"),
    (SMALL, "the most frequent word has id 1", "ids from 1", "alphabetical ids"),
    (lesson_01.test_vocabulary_respects_min_count, "'rare' (seen once) was kept", "min_count ignored",
     "count > min_count"),
    (lesson_01.test_vocabulary_cut_inside_a_tie_keeps_the_first_seen, "ties broken alphabetically",
     "ties alphabetical", "alphabetical ids"),
]


@pytest.mark.parametrize("check, diagnosis, answer, near_miss", VOCABULARY_ROWS, ids=versus(VOCABULARY_ROWS))
def test_build_vocabulary_diagnoses(check, diagnosis, answer, near_miss):
    cases = cases_of(check) if check is SMALL else [()]
    told, near = (feedback(check, SimpleNamespace(clean_review=clean, build_vocabulary=vocabulary_of(
        **VOCABULARIES[name])), cases) for name in (answer, near_miss))
    assert_told_apart(told, near, diagnosis)


# --------------------------------------------------------------------------- 1.5 vectorize_splits


WORDS = [["good", "film", "zebra", "bad", "film"], ["film"], []]
IDS = {"<PAD>": 0, "<UNK>": 1, "good": 2, "film": 3, "bad": 4}
ENCODINGS = {  # the keywords of lesson_01.mistaken_ids that make each answer
    "all zeros": None,
    "padded at the start": dict(pre=True),
    "last words kept": dict(tail=True),
    "unknown words dropped": dict(unknown=None),
    "unknown words dropped before the cut": dict(unknown=None, cut_first=False),
    "unknown words as 0": dict(unknown=0),
}


def ids_message(name: str) -> str:
    how = ENCODINGS[name]
    found = np.zeros((3, 4), np.int32) if how is None else lesson_01.mistaken_ids(WORDS, IDS, 4, **how)
    expected = lesson_01.mistaken_ids(WORDS, IDS, 4)
    with pytest.raises(AssertionError) as failed:
        lesson_01.check_ids("test", found, expected, WORDS, IDS, 4)
    return str(failed.value)


IDS_ROWS = [
    ("the test ids are all zeros", "all zeros", "padded at the start"),
    ("padded at the start", "padded at the start", "last words kept"),
    ("kept the last words of long reviews", "last words kept", "padded at the start"),
    ("unknown words were dropped", "unknown words dropped", "unknown words as 0"),
    ("unknown words were dropped", "unknown words dropped before the cut", "unknown words as 0"),
    ("unknown words became <PAD> (0)", "unknown words as 0", "unknown words dropped"),
]


@pytest.mark.parametrize("diagnosis, answer, near_miss", IDS_ROWS, ids=versus(IDS_ROWS))
def test_ids_diagnoses(diagnosis, answer, near_miss):
    assert_told_apart(ids_message(answer), ids_message(near_miss), diagnosis)


def words(count: int) -> list[str]:
    """``count`` different words of letters only: cleaning keeps them as they are."""
    return ["".join(letters) for letters in islice(product("abcdefghij", repeat=4), count)]


# 3,001 train words seen 5 times each, one more than max_words=3000 keeps; "zebra" 5 times in the test split only
SPLIT = Imdb(lesson_01.reviews_of([" ".join(words(3_001))] * 5), lesson_01.reviews_of(["zebra"] * 5))


@pytest.mark.parametrize("diagnosis, vocabulary, near_miss", [
    ("the vocabulary includes words seen only in the test split",
     dict(texts=SPLIT.train.texts + SPLIT.test.texts, max_words=3_000), dict(texts=SPLIT.train.texts)),
    ("max_words and min_count were not passed on", dict(texts=SPLIT.train.texts),
     dict(texts=SPLIT.train.texts + SPLIT.test.texts, max_words=3_000)),
], ids=["test split counted", "defaults used"])
def test_split_vocabulary_diagnoses(diagnosis, vocabulary, near_miss):
    lesson = SimpleNamespace(build_vocabulary=vocabulary_of())
    told, near = (lesson_01.split_vocabulary_mistake(lesson, lesson.build_vocabulary(**how), SPLIT)
                  for how in (vocabulary, near_miss))
    assert diagnosis in told and diagnosis not in near, (told, near)
