"""Each "— <mistake>" diagnosis of the graded checks names the mistake it describes, and not a near miss.

A check of tests/lessons is called with a stand-in lesson whose function makes one mistake: its feedback
must name that mistake, and a near miss (another wrong answer, close to it) must fail without being told
so. No model is trained and no data is read. Here: the diagnoses of lessons 1, 2 and 8, whose answers are
functions of plain data. Every lesson's are also held to its known-wrong solutions (tests/known_wrong): each
known-wrong solution is a near miss of the others of its exercise, and must not be told, by the checks it runs, a
diagnosis its own pattern does not match (``misdiagnosed``, in the slow known-wrong test of
tests/test_autograder.py; a slow check is skipped for a mistake an earlier check caught).
"""

import re
import sys
import warnings
from collections import Counter
from itertools import islice, product
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from scipy.special import expit
from sklearn.metrics import confusion_matrix

sys.path.insert(0, str(Path(__file__).with_name("lessons")))  # the checks import their helpers as top-level modules

import test_01_data as lesson_01  # noqa: E402
import test_02_classical as lesson_02  # noqa: E402
import test_08_error_analysis as lesson_08  # noqa: E402
from checking import which_of  # noqa: E402

from shared.data import Imdb  # noqa: E402
from shared.lessons.error_analysis import EPS, Labels, Run  # noqa: E402


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
    return [tuple(values) if isinstance(values, (tuple, list)) else (values,)
            for check in checks for mark in check.pytestmark if mark.name == "parametrize" for values in mark.args[1]]


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


# --------------------------------------------------------------------------- lesson 2: answers as learners write them


def ratio_of(binary=True, normalised=True, flipped=False, alpha_after_sums=False, fixed_alpha=None):
    """An answer to exercise 2.2; the keywords name its mistake."""
    def log_count_ratio(features, labels, alpha=1.0):
        alpha = alpha if fixed_alpha is None else fixed_alpha
        present = features > 0 if binary else features
        positive, negative = (np.asarray(present[labels == label].sum(axis=0), float).ravel() for label in (1, 0))
        positive, negative = (negative, positive) if flipped else (positive, negative)
        p, q = positive + alpha, negative + alpha
        if not normalised:
            return np.log(p / q)
        sums = (positive.sum(), negative.sum()) if alpha_after_sums else (p.sum(), q.sum())
        return np.log((p / sums[0]) / (q / sums[1]))
    return log_count_ratio


def chooser_of(judged_on="validation", fitted_on="training", worst=False, last_of_ties=False, index=False):
    """An answer to exercise 2.4."""
    def choose_c(make_model, x_train, y_train, x_valid, y_valid, candidates):
        data = {"training": (x_train, y_train), "validation": (x_valid, y_valid),
                "training and validation": (np.vstack([x_train, x_valid]), np.r_[y_train, y_valid])}
        scores = [make_model(c).fit(*data[fitted_on]).score(*data[judged_on]) for c in candidates]
        if last_of_ties:
            best = len(scores) - 1 - int(np.argmax(scores[::-1]))
        else:
            best = int(np.argmin(scores) if worst else np.argmax(scores))
        return best if index else candidates[best]
    return choose_c


RATIO, CHOICE, FITS = (lesson_02.test_log_count_ratio_of_a_small_example,
                       lesson_02.test_choose_c_takes_the_first_most_accurate_on_validation,
                       lesson_02.test_choose_c_fits_every_candidate_on_the_training_split)

LESSON_2_ROWS = [  # (check, diagnosis, the answer that makes that mistake, a near miss)
    (RATIO, "counts, not presence", ratio_of(binary=False), ratio_of(normalised=False)),
    (RATIO, "p and q were not divided by their sums", ratio_of(normalised=False), ratio_of(binary=False)),
    (RATIO, "the sign is flipped", ratio_of(flipped=True), ratio_of(alpha_after_sums=True)),
    (RATIO, "alpha was added after summing", ratio_of(alpha_after_sums=True), ratio_of(flipped=True)),
    (RATIO, "alpha was ignored", ratio_of(fixed_alpha=1.0), ratio_of(flipped=True)),
    (CHOICE, "chosen by training accuracy", chooser_of(judged_on="training"), chooser_of(worst=True)),
    (CHOICE, "the least accurate candidate (argmin)", chooser_of(worst=True), chooser_of(judged_on="training")),
    (CHOICE, "ties keep the first candidate", chooser_of(last_of_ties=True), chooser_of(index=True)),
    (CHOICE, "the index of the best candidate", chooser_of(index=True), chooser_of(last_of_ties=True)),
    (FITS, "the models were fitted on the validation data", chooser_of(fitted_on="validation"),
     chooser_of(fitted_on="training and validation")),
    (FITS, "fitted on the training and validation data together", chooser_of(fitted_on="training and validation"),
     chooser_of(fitted_on="validation")),
]



# --------------------------------------------------------------------------- lesson 8: answers as learners write them


def confusion_of(rows_predicted=False, at_least=False, fixed_half=False, labels=(0, 1)):
    """An answer to exercise 8.1; the keywords name its mistake."""
    def confusion(truth, probabilities, threshold=0.5):
        cut = 0.5 if fixed_half else threshold
        predicted = (probabilities >= cut if at_least else probabilities > cut).astype(int)
        pair = (predicted, truth) if rows_predicted else (truth, predicted)
        return confusion_matrix(*pair, labels=list(labels) if labels else None)
    return confusion


def mistakes_of(by_p=False, include_right=False, ascending=False, positions=False, at_least=False):
    """An answer to exercise 8.2."""
    def most_confident_mistakes(labels, probabilities, count=10):
        predicted = probabilities >= 0.5 if at_least else probabilities > 0.5
        rows = np.arange(len(labels)) if include_right else np.flatnonzero(predicted != labels)
        key = probabilities[rows] if by_p else np.abs(probabilities[rows] - 0.5)
        order = np.argsort(key if ascending else -key, kind="stable")
        return (order if positions else rows[order])[:count].tolist()
    return most_confident_mistakes


def by_group_of(value="right", whole=False, at_least=False):
    """An answer to exercise 8.3: ``value`` "right", "p" (the mean probability) or "wrong"."""
    def accuracy_by_group(labels, probabilities, groups):
        right = (probabilities >= 0.5 if at_least else probabilities > 0.5) == labels
        values = {"right": right, "p": probabilities, "wrong": ~right}[value]
        return {group.item(): float(values[np.full(len(groups), True) if whole else groups == group].mean())
                for group in np.unique(groups)}
    return accuracy_by_group


def disagreement_of(swapped=False, xor=False, shares=False, agree=False, at_least=False):
    """An answer to exercise 8.4."""
    def disagreement(labels, a, b):
        a, b = (b, a) if swapped else (a, b)
        a_right, b_right = ((p >= 0.5 if at_least else p > 0.5) == labels for p in (a, b))
        counts = [(a_right == b_right if agree else a_right & b_right).sum(),
                  (a_right ^ b_right if xor else a_right & ~b_right).sum(),
                  (a_right ^ b_right if xor else ~a_right & b_right).sum(), (~a_right & ~b_right).sum()]
        return dict(zip(lesson_08.KEYS, [count / len(labels) if shares else int(count) for count in counts]))
    return disagreement


def ece_of(edges=1, weighted=True, top_label=False, signed=False, closed_right=False, last_alone=False,
           empty_bins=False):
    """An answer to exercise 8.5: ``edges`` is how many more edges than bins np.linspace gets."""
    def expected_calibration_error(labels, probabilities, bins=10):
        truth, p = np.asarray(labels, float), np.asarray(probabilities, float)
        if top_label:
            truth, p = ((p > 0.5) == truth).astype(float), np.maximum(p, 1 - p)
        limits = np.linspace(0, 1, bins + edges)
        which = np.digitize(p, limits[1:]) if last_alone else np.digitize(p, limits[1:-1], right=closed_right)
        total = []
        for number in range(len(limits)) if empty_bins else np.unique(which):
            inside = which == number
            with np.errstate(invalid="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # the mean of an empty bin
                gap = truth[inside].mean() - p[inside].mean()
            total.append((inside.mean(), gap if signed else abs(gap)))
        return float(sum(w * g for w, g in total) if weighted else np.mean([g for _, g in total]))
    return expected_calibration_error


def scaling_of(multiply=False, clip="both"):
    """An answer to exercise 8.6's scale_temperature: ``clip`` "both", "top" (1 - EPS only) or "none"."""
    def scale_temperature(probabilities, temperature):
        p = np.asarray(probabilities, float)
        p = np.clip(p, EPS, 1 - EPS) if clip == "both" else np.minimum(p, 1 - EPS) if clip == "top" else p
        with np.errstate(divide="ignore"):
            z = np.log(p) - np.log1p(-p)
        return expit(z * temperature if multiply else z / temperature)
    return scale_temperature


def threshold_of(on_test=False, at_least=False, position=False, accuracy=False, largest=False, grid=False):
    """An answer to exercise 8.7."""
    def choose_threshold(run, labels):
        p, truth = (run.test, labels.test) if on_test else (run.validation, labels.validation)
        candidates = np.round(np.arange(0.01, 1, 0.01), 2) if grid else np.unique(p)
        scores = np.array([np.mean((p >= t if at_least else p > t) == truth) for t in candidates])
        best = len(scores) - 1 - int(np.argmax(scores[::-1])) if largest else int(np.argmax(scores))
        return best if position else float(scores[best]) if accuracy else float(candidates[best])
    return choose_threshold


CONFUSION, ONE_CLASS = lesson_08.test_confusion_matches_scikit_learn, lesson_08.test_confusion_of_one_class_only_is_two_by_two
TEN_MISTAKES, HALF_MISTAKE = (lesson_08.test_most_confident_mistakes_of_ten_reviews,
                              lesson_08.test_most_confident_mistakes_at_one_half)
GROUPS, HALF_GROUP = lesson_08.test_accuracy_by_group_of_eight_reviews, lesson_08.test_accuracy_by_group_at_one_half
AGREEMENT, HALF_AGREEMENT = (lesson_08.test_disagreement_of_two_models_on_ten_reviews,
                             lesson_08.test_disagreement_at_one_half)
ECE, ECE_EDGES = (lesson_08.test_expected_calibration_error_of_a_hand_computed_example,
                  lesson_08.test_expected_calibration_error_on_the_bins_edges)
SCALE, SCALE_ENDS = lesson_08.test_scale_temperature_divides_the_logit, lesson_08.test_scale_temperature_at_zero_and_one
THRESHOLD, TIE = (lesson_08.test_choose_threshold_is_the_most_accurate_on_validation,
                  lesson_08.test_choose_threshold_takes_the_smallest_on_a_tie)

LESSON_8_ROWS = [  # (check, diagnosis, the answer that makes that mistake, a near miss), functions by name
    (CONFUSION, "rows are the predictions", confusion_of(rows_predicted=True), confusion_of(at_least=True)),
    (CONFUSION, "a review at exactly the threshold was called positive", confusion_of(at_least=True),
     confusion_of(rows_predicted=True)),
    (CONFUSION, "the threshold argument was ignored", confusion_of(fixed_half=True), confusion_of(at_least=True)),
    (ONE_CLASS, "confusion_matrix keeps only the labels it sees", confusion_of(labels=None), confusion_of(labels=(1, 0))),
    (TEN_MISTAKES, "ranked by the probability of positive", mistakes_of(by_p=True), mistakes_of(ascending=True)),
    (TEN_MISTAKES, "right answers were included", mistakes_of(include_right=True), mistakes_of(by_p=True)),
    (TEN_MISTAKES, "the least confident first", mistakes_of(ascending=True), mistakes_of(positions=True)),
    (TEN_MISTAKES, "positions among the mistakes", mistakes_of(positions=True), mistakes_of(ascending=True)),
    (HALF_MISTAKE, "p = 0.5 was predicted positive", mistakes_of(at_least=True), mistakes_of(ascending=True)),
    (GROUPS, "the mean probability of positive", by_group_of(value="p"), by_group_of(value="wrong")),
    (GROUPS, "every group got the accuracy of all the reviews", by_group_of(whole=True), by_group_of(value="p")),
    (GROUPS, "the share predicted wrong", by_group_of(value="wrong"), by_group_of(whole=True)),
    (HALF_GROUP, "p = 0.5 was predicted positive", by_group_of(at_least=True), by_group_of(value="wrong")),
    (AGREEMENT, "a and b are swapped", disagreement_of(swapped=True), disagreement_of(xor=True)),
    (AGREEMENT, "every disagreement was counted as a win", disagreement_of(xor=True), disagreement_of(swapped=True)),
    (AGREEMENT, "shares, not counts", disagreement_of(shares=True), disagreement_of(swapped=True)),
    (AGREEMENT, "agreeing is not being right", disagreement_of(agree=True), disagreement_of(xor=True)),
    (HALF_AGREEMENT, "p = 0.5 was predicted positive", disagreement_of(at_least=True),
     disagreement_of(shares=True)),
    (ECE, "the bins' gaps were averaged without weights", ece_of(weighted=False), ece_of(signed=True)),
    (ECE, "np.linspace(0, 1, bins) makes bins - 1 bins", ece_of(edges=0), ece_of(weighted=False)),
    (ECE, "the confidence of the predicted class against its accuracy", ece_of(top_label=True), ece_of(signed=True)),
    (ECE, "signed gaps cancel out", ece_of(signed=True), ece_of(weighted=False)),
    (ECE_EDGES, "bins closed on the right", ece_of(closed_right=True), ece_of(last_alone=True)),
    (ECE_EDGES, "p = 1 fell in a bin of its own", ece_of(last_alone=True), ece_of(closed_right=True)),
    (ECE_EDGES, "an empty bin made the ECE nan", ece_of(empty_bins=True), ece_of(closed_right=True)),
    (SCALE, "the logit was multiplied by T", scaling_of(multiply=True), scaling_of(clip="none")),
    (SCALE, "p = 1 stayed 1", scaling_of(clip="none"), scaling_of(multiply=True)),
    (SCALE_ENDS, "p = 0 stayed 0", scaling_of(clip="top"), scaling_of(multiply=True)),
    (SCALE_ENDS, "p = 0 and p = 1 stayed 0 and 1", scaling_of(clip="none"), scaling_of(clip="top")),
    (THRESHOLD, "chosen on the test reviews", threshold_of(on_test=True), threshold_of(at_least=True)),
    (THRESHOLD, "the rule was p >= t", threshold_of(at_least=True), threshold_of(on_test=True)),
    (THRESHOLD, "the position of the best candidate", threshold_of(position=True), threshold_of(accuracy=True)),
    (THRESHOLD, "the best accuracy, not the threshold", threshold_of(accuracy=True), threshold_of(position=True)),
    (TIE, "the largest of the tied thresholds", threshold_of(largest=True), threshold_of(at_least=True)),
    (TIE, "not one of the validation probabilities", threshold_of(grid=True), threshold_of(largest=True)),
]


@pytest.mark.filterwarnings("ignore:A single label was found")  # the answer that leaves out labels=[0, 1]
@pytest.mark.parametrize("check, diagnosis, answer, near_miss", LESSON_2_ROWS + LESSON_8_ROWS,
                         ids=[f"{row[0].__name__.removeprefix('test_')}: {row[1]}"
                              for row in LESSON_2_ROWS + LESSON_8_ROWS])
def test_diagnoses_of_lessons_2_and_8(check, diagnosis, answer, near_miss):
    """A stand-in lesson holds the answer's function (and lesson 8's Run and Labels)."""
    told, near = (feedback(check, SimpleNamespace(Run=Run, Labels=Labels, **{function.__name__: function}),
                           cases_of(check) or [()]) for function in (answer, near_miss))
    assert_told_apart(told, near, diagnosis)
