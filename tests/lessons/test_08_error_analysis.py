"""Graded checks of lesson 8: the confusion matrix, the most confident mistakes, accuracy by group, where two
models disagree, the expected calibration error, temperature scaling, the decision threshold and a stack.

Every check runs on small crafted inputs in well under a second. The functions that fit something receive
the test labels too (``Labels``), as the lesson's data comes; the checks flip those labels and require the
fitted temperature, threshold or stack unchanged, so a fit that reads the test split fails.

After the worked examples, each exercise is checked against the reference solution on reviews drawn at grade
time (``randomized``): any size from one review, all of one label, p exactly 0, 0.5 and 1 and on the bins'
edges, ties, and a test split of its own that a fit must not read.
"""

import math
from fractions import Fraction
from collections.abc import Callable

import numpy as np
import pytest
from checking import dict_difference, rounded, same, which_of
from hypothesis import strategies as st
from randomized import check_agrees_with_reference, check_close_to_reference
from scipy.optimize import minimize_scalar
from scipy.special import expit
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import confusion_matrix, log_loss
from threadpoolctl import threadpool_limits

from shared.lessons.error_analysis import EPS, logit  # the lesson's clipping before a logit, and its logit

LESSON = "08"


@pytest.fixture(autouse=True, scope="module")
def one_blas_thread():
    """NumPy's and scikit-learn's BLAS on one thread while these checks run: their fits are tiny, and on a CPU
    shared with another job two threads waiting for each other made a LogisticRegression of ten reviews 20
    times slower. Restored afterwards."""
    with threadpool_limits(limits=1):
        yield


def run_and_labels(lesson, validation, test, validation_labels, test_labels):
    """The lesson's Run and Labels for arrays of the check's own."""
    return (lesson.Run("crafted", np.asarray(validation, np.float64), np.asarray(test, np.float64)),
            lesson.Labels(np.asarray(validation_labels), np.asarray(test_labels)))


# --------------------------------------------------------------------------- drawn reviews

# How a fit's inputs read in a failure message: the case is (run.validation, run.test, labels.validation,
# labels.test), passed to the lesson as a Run and Labels.
SPLITS = "on (run.validation, run.test, labels.validation, labels.test) = "
# Cases drawn per check: most rules' edges come up within a few dozen; the bins' edges and the most confident
# mistakes show on fewer cases, which cost microseconds (MANY); a fit (an optimiser, a solver) costs
# milliseconds a case (FITS). So the lesson's grading stays within seconds.
EXAMPLES, MANY, FITS = 100, 300, 30


def probability() -> st.SearchStrategy[float]:
    """A p where the rules have edges (0, 0.5 and 1: p > 0.5, the last bin, the clip; j/16: the bins' edges for
    1, 2, 4, 8 and 16 bins; within EPS of 0 and 1), or anywhere on a grid of 2^20 steps. Every p is a multiple
    of 2^-20 or within the clip: none lies within rounding of an edge k/bins it is not on, so every correct
    way of binning agrees with the reference (0.3 would not: it is a hair below 3/10)."""
    return st.one_of(st.sampled_from([0.0, 0.5, 1.0]), st.integers(0, 16).map(lambda j: j / 16),
                     st.sampled_from([EPS / 2, 1 - EPS / 2]), st.integers(0, 2**20).map(lambda j: j / 2**20))


@st.composite
def reviews(draw, min_size: int = 1, max_size: int = 12, p: st.SearchStrategy | None = None
            ) -> tuple[np.ndarray, np.ndarray]:
    """(labels, probabilities) of 1 to ``max_size`` reviews, each p drawn from ``p`` (``probability()``): a third
    of the time all negative or all positive."""
    size = draw(st.integers(min_size, max_size))
    kind = draw(st.sampled_from(["mixed", 0, 1]))
    labels = draw(st.lists(st.integers(0, 1), min_size=size, max_size=size)) if kind == "mixed" else [kind] * size
    return np.array(labels), np.array(draw(st.lists(p or probability(), min_size=size, max_size=size)), np.float64)


def with_(reviews_strategy, extra: Callable[[np.ndarray, np.ndarray], st.SearchStrategy]) -> st.SearchStrategy:
    """(labels, probabilities, *what ``extra`` draws for those reviews)."""
    return reviews_strategy.flatmap(lambda drawn: st.tuples(st.just(drawn[0]), st.just(drawn[1]), *extra(*drawn)))


def splits(max_validation: int = 12, max_test: int = 6) -> st.SearchStrategy:
    """(validation p, test p, validation labels, test labels): the test split drawn apart from the validation."""
    return st.tuples(reviews(max_size=max_validation), reviews(max_size=max_test)).map(
        lambda drawn: (drawn[0][1], drawn[1][1], drawn[0][0], drawn[1][0]))


def on_splits(lesson, function: Callable) -> Callable:
    """``function(run, labels)`` called with the four arrays a case of ``splits()`` holds."""
    return lambda *arrays: function(*run_and_labels(lesson, *arrays))


def as_list(function: Callable) -> Callable:
    """The answer as nested lists: an array, a list or a tuple of the same counts are the same answer."""
    return lambda *case: np.asarray(function(*case)).tolist()


def close_arrays(atol: float) -> Callable[[tuple, object, object], bool]:
    """Same shape, every number within ``atol``."""
    def close(case, expected, found) -> bool:
        expected, found = np.asarray(expected, np.float64), np.asarray(found, np.float64)
        return expected.shape == found.shape and bool(np.allclose(found, expected, rtol=0, atol=atol))
    return close


# --------------------------------------------------------------------------- 8.1 confusion

# Six negative and six positive reviews; 0.5 and 0.7 sit exactly on the two thresholds checked.
LABELS = np.array([0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1])
PROBABILITIES = np.array([0.1, 0.2, 0.5, 0.6, 0.7, 0.8, 0.3, 0.4, 0.55, 0.65, 0.9, 0.95])


def counts(threshold: float, at_least=False) -> np.ndarray:
    """scikit-learn's confusion matrix of LABELS and PROBABILITIES > threshold (>= with ``at_least``)."""
    predictions = PROBABILITIES >= threshold if at_least else PROBABILITIES > threshold
    return confusion_matrix(LABELS, predictions.astype(int), labels=[0, 1])


@pytest.mark.exercise("8.1", points=1)
@pytest.mark.parametrize("threshold", [0.5, 0.7])
def test_confusion_matches_scikit_learn(lesson, threshold):
    expected = counts(threshold)
    found = np.asarray(lesson.confusion(LABELS, PROBABILITIES, threshold=threshold))
    mistakes = [("rows are the predictions: rows must be the true labels (confusion_matrix(labels, predictions))",
                 expected.T),
                ("a review at exactly the threshold was called positive: the rule is p > threshold",
                 counts(threshold, at_least=True))]
    if threshold != 0.5:
        mistakes.append(("the threshold argument was ignored: 0.5 was used", counts(0.5)))
    mistake = which_of(found, mistakes)
    assert found.shape == (2, 2) and same(found, expected), (
        f"expected [[TN, FP], [FN, TP]] = {expected.tolist()} at threshold {threshold}, got {found.tolist()}{mistake}")


@pytest.mark.exercise("8.1", points=1)
@pytest.mark.parametrize("label, expected", [(1, [[0, 0], [0, 3]]), (0, [[3, 0], [0, 0]])],
                         ids=["positive", "negative"])
def test_confusion_of_one_class_only_is_two_by_two(lesson, label, expected):
    probabilities = np.array([0.7, 0.8, 0.9]) if label else np.array([0.1, 0.2, 0.3])
    found = np.asarray(lesson.confusion(np.full(3, label), probabilities))
    name = "positive" if label else "negative"
    hint = " — confusion_matrix keeps only the labels it sees: pass labels=[0, 1]" if found.shape == (1, 1) else \
        " — a batch of one class was taken to be positive: pass labels=[0, 1] and let confusion_matrix place it" \
        if label == 0 and same(found, [[0, 0], [0, 3]]) else ""
    assert found.shape == (2, 2) and same(found, expected), (
        f"expected {expected} for three {name} reviews predicted {name}, got {found.tolist()}{hint}")


@pytest.mark.exercise("8.1", points=1)
def test_confusion_on_drawn_reviews(lesson, reference):
    """Thresholds at 0, 0.5 and 1 and on a review's own p, where "p > threshold" leaves it negative."""
    cases = with_(reviews(), lambda labels, probabilities: (st.one_of(
        st.sampled_from(probabilities.tolist()), probability()),))
    check_agrees_with_reference("confusion", as_list(lesson.confusion), as_list(reference.confusion), cases,
                                EXAMPLES)


# --------------------------------------------------------------------------- 8.2 most_confident_mistakes

# Wrong: review 1 (p = 0.97, negative), 2 (0.3, positive), 4 (0.02, positive), 5 (0.6, negative).
# Confidence |p - 0.5|: 0.47, 0.2, 0.48, 0.1, so the most confident first: 4, 1, 2, 5.
MISTAKE_LABELS = np.array([1, 0, 1, 0, 1, 0, 1, 0, 1, 0])
MISTAKE_PROBABILITIES = np.array([0.9, 0.97, 0.3, 0.05, 0.02, 0.6, 0.55, 0.45, 0.85, 0.2])


@pytest.mark.exercise("8.2", points=1)
@pytest.mark.parametrize("count, expected", [(3, [4, 1, 2]), (10, [4, 1, 2, 5])])
def test_most_confident_mistakes_of_ten_reviews(lesson, count, expected):
    found = np.asarray(lesson.most_confident_mistakes(MISTAKE_LABELS, MISTAKE_PROBABILITIES, count=count)).tolist()
    mistake = which_of(found, [
        ("ranked by the probability of positive: a positive review at p = 0.02 is as confident a mistake as a "
         "negative one at 0.98; rank by |p - 0.5|", [1, 5, 2, 4][:count]),
        ("right answers were included: keep the reviews predicted wrong", [4, 1, 3, 0, 8, 9, 2, 5, 6, 7][:count]),
        ("the least confident first: sort by confidence, highest first", [5, 2, 1, 4][:count]),
        ("positions among the mistakes, not indices of the reviews", [2, 0, 1, 3][:count])])
    assert found == expected, (
        f"expected reviews {expected} (the {count} most confident mistakes, most confident first), got "
        f"{found}{mistake}")


@pytest.mark.exercise("8.2", points=1)
def test_most_confident_mistakes_at_one_half(lesson):
    """p = 0.5 is predicted negative: a mistake, the least confident, on a positive review; right on a negative one."""
    found = np.asarray(lesson.most_confident_mistakes(np.array([1, 0, 0, 1]), np.array([0.5, 0.5, 0.75, 0.875]),
                                                      count=5)).tolist()
    mistake = which_of(found, [("p = 0.5 was predicted positive: the rule is p > 0.5", [2, 1])])
    assert found == [2, 0], (
        f"expected reviews [2, 0] for labels [1, 0, 0, 1] and p [0.5, 0.5, 0.75, 0.875] (review 2, negative at "
        f"0.75, then review 0, positive at 0.5 and so predicted negative), got {found}{mistake}")


def equally_confident(labels, probabilities, found: list, expected: list) -> bool:
    """Whether ``found`` is as right as ``expected``: distinct mistakes, as many, with the same confidences in
    the same order. Reviews as confident as each other may come in either order (the statement names none)."""
    wrong = (np.asarray(probabilities) > 0.5) != np.asarray(labels)
    if len(found) != len(expected) or len(set(found)) != len(found) or not all(
            isinstance(index, int) and 0 <= index < len(wrong) and wrong[index] for index in found):
        return False
    confidence = np.abs(np.asarray(probabilities) - 0.5)
    return confidence[found].tolist() == confidence[expected].tolist()


def ties_in_either_order(answer: Callable, reference: Callable) -> Callable:
    """The reference's indices where the answer's are as right, else the answer's: so the two are compared
    up to the order of equally confident reviews, and a failure shows the indices themselves."""
    def answered(labels, probabilities, count):
        found, expected = as_list(answer)(labels, probabilities, count), as_list(reference)(labels, probabilities,
                                                                                             count)
        return expected if isinstance(found, list) and equally_confident(labels, probabilities, found, expected) \
            else found
    return answered


@pytest.mark.exercise("8.2", points=1)
def test_most_confident_mistakes_on_drawn_reviews(lesson, reference):
    """Any count from 0 to past the number of mistakes, ties in confidence, p = 0.5, no mistakes at all."""
    cases = with_(reviews(), lambda labels, probabilities: (st.integers(0, len(labels) + 2),))
    check_agrees_with_reference(
        "most_confident_mistakes", ties_in_either_order(lesson.most_confident_mistakes,
                                                        reference.most_confident_mistakes),
        as_list(reference.most_confident_mistakes), cases, MANY)


# --------------------------------------------------------------------------- 8.3 accuracy_by_group

# Right: every review but 1 (p = 0.4, positive) and 3 (p = 0.7, negative).
GROUP_LABELS = np.array([1, 1, 0, 0, 1, 0, 1, 0])
GROUP_PROBABILITIES = np.array([0.9, 0.4, 0.2, 0.7, 0.8, 0.1, 0.6, 0.3])
GROUPINGS = {  # groups, and what each gives: (right, mean p, accuracy of all reviews, share wrong)
    "lengths": (np.array(["long", "short", "long", "short", "long", "short", "short", "long"]),
                {"long": (1.0, 0.55, 0.75, 0.0), "short": (0.5, 0.45, 0.75, 0.5)}),
    "ratings": (np.array([10, 4, 1, 7, 10, 1, 7, 1]),
                {1: (1.0, 0.2, 0.75, 0.0), 4: (0.0, 0.4, 0.75, 1.0), 7: (0.5, 0.65, 0.75, 0.5),
                 10: (1.0, 0.85, 0.75, 0.0)}),
}


@pytest.mark.exercise("8.3", points=1)
@pytest.mark.parametrize("grouping", list(GROUPINGS))
def test_accuracy_by_group_of_eight_reviews(lesson, grouping):
    groups, table = GROUPINGS[grouping]
    expected = {group: values[0] for group, values in table.items()}
    found = lesson.accuracy_by_group(GROUP_LABELS, GROUP_PROBABILITIES, groups)
    difference = dict_difference(expected, found) if isinstance(found, dict) else f"got {type(found).__name__}"
    assert isinstance(found, dict) and set(found) == set(expected), (
        f"expected one accuracy per group {sorted(expected)}: {difference}")
    values = [found[group] for group in expected]
    mistake = which_of(values, [
        ("the mean probability of positive, not the share predicted right", [v[1] for v in table.values()]),
        ("every group got the accuracy of all the reviews: select the group's reviews",
         [v[2] for v in table.values()]),
        ("the share predicted wrong, not right", [v[3] for v in table.values()])])
    assert same(values, list(expected.values())), (
        f"expected {expected} for the {grouping}, got {dict(zip(expected, rounded(values)))}{mistake}")


@pytest.mark.exercise("8.3", points=1)
def test_accuracy_by_group_at_one_half(lesson):
    """p = 0.5 is predicted negative: wrong on the positive 7-star review, right on the negative 4-star one."""
    found = lesson.accuracy_by_group(np.array([1, 0, 1, 0]), np.array([0.5, 0.5, 0.9, 0.1]), np.array([7, 4, 7, 4]))
    expected = {4: 1.0, 7: 0.5}
    mistake = " — p = 0.5 was predicted positive: the rule is p > 0.5" \
        if isinstance(found, dict) and dict_difference({4: 0.5, 7: 1.0}, found) == "" else ""
    assert isinstance(found, dict) and dict_difference(expected, found) == "", (
        f"expected {expected} for labels [1, 0, 1, 0], p [0.5, 0.5, 0.9, 0.1] and stars [7, 4, 7, 4], got "
        f"{found!r}{mistake}")


def groups_of(size: int) -> st.SearchStrategy[np.ndarray]:
    """One group per review: star ratings (ints) or length bands (strings), a single group or many."""
    return st.one_of(*(st.lists(st.sampled_from(names), min_size=size, max_size=size).map(np.array)
                       for names in ([1, 2, 3, 4, 7, 8, 9, 10], ["1: short", "2: long", "3: longer"])))


@pytest.mark.exercise("8.3", points=1)
def test_accuracy_by_group_on_drawn_reviews(lesson, reference):
    cases = with_(reviews(), lambda labels, probabilities: (groups_of(len(labels)),))
    check_agrees_with_reference("accuracy_by_group", lesson.accuracy_by_group, reference.accuracy_by_group, cases,
                                EXAMPLES)


# --------------------------------------------------------------------------- 8.4 disagreement

# a is right on reviews 0, 1, 2, 5, 6, 7, 8; b on 0, 3, 4, 5, 7.
AGREEMENT_LABELS = np.array([1, 0, 1, 0, 1, 0, 1, 0, 1, 0])
PROBABILITIES_A = np.array([0.9, 0.2, 0.8, 0.6, 0.3, 0.4, 0.7, 0.1, 0.7, 0.9])
PROBABILITIES_B = np.array([0.8, 0.7, 0.3, 0.2, 0.6, 0.1, 0.4, 0.3, 0.35, 0.8])
KEYS = ("both right", "only a right", "only b right", "both wrong")


@pytest.mark.exercise("8.4", points=1)
def test_disagreement_of_two_models_on_ten_reviews(lesson):
    expected = dict(zip(KEYS, (3, 4, 2, 1)))
    found = lesson.disagreement(AGREEMENT_LABELS, PROBABILITIES_A, PROBABILITIES_B)
    assert isinstance(found, dict) and set(found) == set(KEYS), (
        f"expected the keys {list(KEYS)}: {dict_difference(expected, found)}")
    values = [found[key] for key in KEYS]
    mistake = which_of(values, [
        ("a and b are swapped: 'only a right' counts the reviews the first model gets right", [3, 2, 4, 1]),
        ("every disagreement was counted as a win: 'only a right' needs a right and b wrong (a & ~b, not a ^ b)",
         [3, 6, 6, 1]),
        ("shares, not counts: count the reviews", [0.3, 0.4, 0.2, 0.1]),
        ("agreeing is not being right: 'both right' needs each prediction equal to the label", [4, 4, 2, 1])])
    assert values == list(expected.values()), f"expected {expected}, got {dict(zip(KEYS, values))}{mistake}"


@pytest.mark.exercise("8.4", points=1)
def test_disagreement_at_one_half(lesson):
    """p = 0.5 is predicted negative, for a as for b: a is wrong on review 0 and right on review 1."""
    found = lesson.disagreement(np.array([1, 0, 1]), np.array([0.5, 0.5, 0.75]), np.array([0.75, 0.25, 0.5]))
    expected = dict(zip(KEYS, (1, 1, 1, 0)))
    values = [found.get(key) for key in KEYS] if isinstance(found, dict) else found
    mistake = which_of(values, [("p = 0.5 was predicted positive: the rule is p > 0.5", [2, 0, 1, 0])])
    assert values == list(expected.values()), (
        f"expected {expected} for labels [1, 0, 1], a [0.5, 0.5, 0.75] and b [0.75, 0.25, 0.5], got {found!r}"
        f"{mistake}")


@pytest.mark.exercise("8.4", points=1)
def test_disagreement_on_drawn_reviews(lesson, reference):
    cases = with_(reviews(), lambda labels, probabilities: (
        st.lists(probability(), min_size=len(labels), max_size=len(labels)).map(np.array),))
    check_agrees_with_reference("disagreement", lesson.disagreement, reference.disagreement, cases, EXAMPLES)


# --------------------------------------------------------------------------- 8.5 expected_calibration_error

# Ten reviews. With 5 bins ([0, .2), [.2, .4), [.4, .6), [.6, .8), [.8, 1]):
#   [0, .2):  p .05 .15     mean .1,    positives 0/2, gap .1,    weight .2 -> .02
#   [.2, .4): p .3 .35      mean .325,  positives 1/2, gap .175,  weight .2 -> .035
#   [.4, .6): p .55         mean .55,   positives 1/1, gap .45,   weight .1 -> .045
#   [.6, .8): p .62 .68     mean .65,   positives 1/2, gap .15,   weight .2 -> .03
#   [.8, 1]:  p .85 .9 .95  mean .9,    positives 2/3, gap .2333, weight .3 -> .07     ECE = 0.2
# With 2 bins: [0, .5): mean .2125, 1/4 positive -> .4 x .0375 = .015; [.5, 1]: mean .7583, 4/6 -> .6 x .0917 = .055:
# ECE = 0.07.
ECE_LABELS = np.array([0, 0, 1, 0, 1, 0, 1, 1, 1, 0])
ECE_PROBABILITIES = np.array([0.05, 0.15, 0.3, 0.35, 0.55, 0.62, 0.68, 0.85, 0.9, 0.95])


def ece(bins: int, *, edges: int | None = None, weighted=True, top_label=False, absolute=True) -> float:
    """The ECE of the example, or, through the keywords, a known mistake: ``edges`` points in
    np.linspace(0, 1, edges), the unweighted mean of the bins' gaps, the gaps of the predicted class's
    confidence (Guo et al.), or signed gaps (whose sum may be negative)."""
    labels, values = ECE_LABELS, ECE_PROBABILITIES
    if top_label:
        labels, values = (values > 0.5) == labels, np.maximum(values, 1 - values)
    which = np.digitize(values, np.linspace(0, 1, edges or bins + 1)[1:-1])
    gaps, weights = [], []
    for number in np.unique(which):
        in_bin = which == number
        gaps.append(labels[in_bin].mean() - values[in_bin].mean())
        weights.append(in_bin.mean())
    gaps = np.abs(gaps) if absolute else np.asarray(gaps)
    return float(np.sum(np.asarray(weights) * gaps)) if weighted else float(np.mean(gaps))


@pytest.mark.exercise("8.5", points=2)
@pytest.mark.parametrize("bins, expected", [(5, 0.2), (2, 0.07)])
def test_expected_calibration_error_of_a_hand_computed_example(lesson, bins, expected):
    assert abs(ece(bins) - expected) < 1e-9  # the check's own arithmetic agrees with the comment above
    found = float(lesson.expected_calibration_error(ECE_LABELS, ECE_PROBABILITIES, bins=bins))
    mistake = which_of(found, [
        ("the bins' gaps were averaged without weights: weight each by its share of the reviews",
         ece(bins, weighted=False)),
        ("np.linspace(0, 1, bins) makes bins - 1 bins: bins need bins + 1 edges", ece(bins, edges=bins)),
        ("the confidence of the predicted class against its accuracy: this ECE compares p(positive) with the "
         "fraction positive, as the reliability diagram does", ece(bins, top_label=True)),
        *[("signed gaps cancel out: take |fraction positive - mean p| in each bin", value)
          for value in (ece(bins, absolute=False), abs(ece(bins, absolute=False)))]],
        atol=1e-6)
    assert abs(found - expected) < 1e-6, (
        f"expected ECE {expected} with {bins} bins on the ten-review example (worked out in "
        f"tests/lessons/test_08_error_analysis.py), got {found:.4f}{mistake}")


# Six reviews on the edges of 4 bins ([0, .25), [.25, .5), [.5, .75), [.75, 1]); the third bin is empty:
#   [0, .25):  p 0           positive 1/1, gap 1,    weight 1/6 -> 1/6
#   [.25, .5): p .25 .25     positive 0/2, gap .25,  weight 2/6 -> 1/12
#   [.75, 1]:  p .75 1 1     positive 2/3, gap .25,  weight 3/6 -> 1/8      ECE = 9/24 = 0.375
# Bins closed on the right give 7/24 ([0, .25]: 1/12, (.5, .75]: 1/24, (.75, 1]: 1/6); p = 1 in a bin of its own
# 11/24 (1/6, 1/12, then [.75, 1): 1/24 and {1, 1}: 1/6).
EDGE_LABELS = np.array([1, 0, 0, 1, 0, 1])
EDGE_PROBABILITIES = np.array([0.0, 0.25, 0.25, 0.75, 1.0, 1.0])


@pytest.mark.exercise("8.5", points=1)
def test_expected_calibration_error_on_the_bins_edges(lesson):
    found = float(lesson.expected_calibration_error(EDGE_LABELS, EDGE_PROBABILITIES, bins=4))
    mistake = " — an empty bin made the ECE nan: empty bins count nothing" if math.isnan(found) else which_of(found, [
        ("bins closed on the right: each bin holds its left edge, as np.digitize(p, inner edges) does", 7 / 24),
        ("p = 1 fell in a bin of its own: the last bin is closed on both sides, [0.75, 1]", 11 / 24)], atol=1e-6)
    assert abs(found - 0.375) < 1e-6, (
        f"expected ECE 0.375 with 4 bins for p = {EDGE_PROBABILITIES.tolist()} on the bins' edges and labels "
        f"{EDGE_LABELS.tolist()} (worked out in tests/lessons/test_08_error_analysis.py), got {found:.4f}{mistake}")


def exact_edges(bins: int) -> list[float]:
    """The edges k/bins that a float holds exactly (a power of two below): p there is on the edge, not a hair
    off it, for every way of binning."""
    return [k / bins for k in range(bins + 1) if Fraction(k, bins).denominator.bit_count() == 1]


def binned_reviews() -> st.SearchStrategy:
    """(labels, probabilities, bins): 1 to 20 bins, and p anywhere or exactly on one of their edges."""
    return st.one_of(st.sampled_from([1, 2, 4, 5, 8, 10, 16]), st.integers(1, 20)).flatmap(
        lambda bins: reviews(p=st.one_of(probability(), st.sampled_from(exact_edges(bins)))).map(
            lambda drawn: (*drawn, bins)))


@pytest.mark.exercise("8.5", points=1)
def test_expected_calibration_error_on_drawn_reviews(lesson, reference):
    """Any number of bins from 1 to 20; p on their edges, 0 and 1 among them; empty bins."""
    cases = binned_reviews()
    check_close_to_reference("expected_calibration_error", lesson.expected_calibration_error,
                             reference.expected_calibration_error, cases, close_arrays(atol=1e-9), MANY)


# --------------------------------------------------------------------------- 8.6 temperature scaling


@pytest.mark.exercise("8.6", points=1)
def test_scale_temperature_divides_the_logit(lesson):
    probabilities = np.array([0.1, 0.5, 0.8, 0.99, 1.0])
    expected = expit(logit(probabilities) / 2)  # 0.8: logit 1.386, halved 0.693, sigmoid 2/3
    found = np.asarray(lesson.scale_temperature(probabilities, 2.0), dtype=np.float64)
    mistake = which_of(found, [
        ("the logit was multiplied by T: divide it, so that T > 1 softens", expit(logit(probabilities) * 2)),
        ("p = 1 stayed 1: take the lesson's logit, which keeps p within [EPS, 1 - EPS]",
         expit(np.log(probabilities / (1 - probabilities + 1e-300)) / 2))], atol=1e-6)
    assert same(found, expected, atol=1e-6), (
        f"expected {rounded(expected)} for p = {probabilities.tolist()} at T = 2, got {rounded(found)}{mistake}")


def unclipped(probabilities, temperature: float, top_only: bool = False) -> np.ndarray:
    """Known mistakes: the scaled p with no clip before the logit, or a clip below 1 - EPS only."""
    kept = np.minimum(probabilities, 1 - EPS) if top_only else np.asarray(probabilities, np.float64)
    with np.errstate(divide="ignore"):
        return expit(np.log(kept / (1 - kept)) / temperature)


@pytest.mark.exercise("8.6", points=1)
def test_scale_temperature_at_zero_and_one(lesson):
    """p = 0 and p = 1 are clipped to EPS and 1 - EPS before the logit, as p within EPS of either end is."""
    probabilities = np.array([0.0, EPS / 2, 1 - EPS / 2, 1.0])
    expected = expit(logit(probabilities) / 2)
    found = np.asarray(lesson.scale_temperature(probabilities, 2.0), dtype=np.float64)
    mistake = which_of(found, [
        ("p = 0 stayed 0: keep p within [EPS, 1 - EPS] at both ends (the lesson's logit)",
         unclipped(probabilities, 2, top_only=True)),
        ("p = 0 and p = 1 stayed 0 and 1: take the lesson's logit, which keeps p within [EPS, 1 - EPS]",
         unclipped(probabilities, 2))], atol=1e-6)
    assert same(found, expected, atol=1e-6), (
        f"expected {rounded(expected)} for p = {probabilities.tolist()} at T = 2, got {rounded(found)}{mistake}")


def temperature() -> st.SearchStrategy[float]:
    """T at 1 (no change), at the ends of the search (e^-4, e^4), or anywhere between."""
    return st.one_of(st.sampled_from([1.0, 2.0, 0.5, math.exp(-4), math.exp(4)]),
                     st.floats(math.exp(-4), math.exp(4)))


@pytest.mark.exercise("8.6", points=1)
def test_scale_temperature_on_drawn_probabilities(lesson, reference):
    cases = st.tuples(st.lists(probability(), min_size=1, max_size=12).map(np.array), temperature())
    check_close_to_reference("scale_temperature", lesson.scale_temperature, reference.scale_temperature, cases,
                             close_arrays(atol=1e-9))


def crafted_scores(size: int, temperature: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(labels, probabilities) of a model whose probabilities need ``temperature`` to be calibrated."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 3, size)
    labels = (rng.random(size) < expit(logits / temperature)).astype(int)
    return labels, np.round(expit(logits), 4)


# Validation wants T near 2.5 (overconfident), test near 0.5: a fit on the wrong split shows.
VALID_LABELS, VALID_SCORES = crafted_scores(400, 2.5, seed=1)
TEST_LABELS, TEST_SCORES = crafted_scores(300, 0.5, seed=2)


def two_class_log_loss(labels, probabilities) -> float:
    """The log loss, also of labels of one class (log_loss infers the classes from the labels otherwise)."""
    return log_loss(labels, probabilities, labels=[0, 1])


def best_temperature(labels, probabilities, loss=two_class_log_loss) -> float:
    def scaled_loss(log_temperature):
        return loss(labels, expit(logit(probabilities) / np.exp(log_temperature)))

    return float(np.exp(minimize_scalar(scaled_loss, bounds=(-4, 4), method="bounded").x))


def squared_error(labels, probabilities) -> float:
    return float(np.mean((probabilities - labels) ** 2))


@pytest.mark.exercise("8.6", points=2)
def test_fit_temperature_minimises_the_validation_log_loss(lesson):
    expected = best_temperature(VALID_LABELS, VALID_SCORES)
    run, labels = run_and_labels(lesson, VALID_SCORES, TEST_SCORES, VALID_LABELS, TEST_LABELS)
    found = float(lesson.fit_temperature(run, labels))
    mistake = which_of(found, [
        ("fitted on the test reviews: fit on validation only", best_temperature(TEST_LABELS, TEST_SCORES)),
        ("fitted on the validation and test reviews together: fit on validation only",
         best_temperature(np.r_[VALID_LABELS, TEST_LABELS], np.r_[VALID_SCORES, TEST_SCORES])),
        ("this T minimises the squared error (Brier score): minimise the log loss",
         best_temperature(VALID_LABELS, VALID_SCORES, squared_error)),
        ("1 / T: the logit was multiplied by T somewhere", 1 / expected)], atol=2e-3 * expected)
    assert abs(found - expected) <= 2e-3 * expected, (
        f"expected T = {expected:.3f}, the temperature with the lowest log loss on the 400 validation reviews "
        f"of a crafted overconfident model, got {found:.3f}{mistake}")


@pytest.mark.exercise("8.6", points=2)
def test_fit_temperature_never_reads_the_test_labels(lesson):
    found = [float(lesson.fit_temperature(*run_and_labels(lesson, VALID_SCORES, test, VALID_LABELS, labels)))
             for test, labels in ((TEST_SCORES, TEST_LABELS), (TEST_SCORES[::-1], 1 - TEST_LABELS))]
    # The check's own data: a temperature fitted on the test reviews moves when they are flipped.
    on_test = [best_temperature(TEST_LABELS, TEST_SCORES), best_temperature(1 - TEST_LABELS, TEST_SCORES[::-1])]
    assert abs(on_test[0] - on_test[1]) > 0.1
    assert abs(found[0] - found[1]) <= 1e-9 * found[0], (
        f"expected the same temperature when only the test reviews change, got T = {found[0]:.4f}, then "
        f"{found[1]:.4f} with the test labels flipped — the temperature read the test reviews' labels: fit on "
        "validation only")


# The ends of the search: validation probabilities that say nothing of the labels want T as large as it goes
# (everything towards 0.5), and all-positive labels with every p above 0.5 want it as small as it goes.
SEARCH_ENDS = {"uninformative": (np.array([1, 0, 1, 0]), np.array([0.9, 0.9, 0.1, 0.1]), "e^4"),
               "one class": (np.array([1, 1, 1]), np.array([0.55, 0.6, 0.65]), "e^-4")}


@pytest.mark.exercise("8.6", points=1)
@pytest.mark.parametrize("case", list(SEARCH_ENDS))
def test_fit_temperature_at_the_ends_of_its_search(lesson, case):
    labels, scores, end = SEARCH_ENDS[case]
    expected = best_temperature(labels, scores)
    assert abs(expected - math.exp(4 if end == "e^4" else -4)) < 1e-3 * expected  # the check's own arithmetic
    try:
        found = float(lesson.fit_temperature(*run_and_labels(lesson, scores, TEST_SCORES, labels, TEST_LABELS)))
    except ValueError as error:
        raise AssertionError(
            f"expected T = {expected:.4f} ({end}) for validation labels {labels.tolist()}, got ValueError ({error}) "
            "— log_loss sees one class in these labels: pass labels=[0, 1]") from error
    mistake = which_of(found, [("fitted on the test reviews: fit on validation only",
                                best_temperature(TEST_LABELS, TEST_SCORES)),
                               ("fitted on the validation and test reviews together: fit on validation only",
                                best_temperature(np.r_[labels, TEST_LABELS], np.r_[scores, TEST_SCORES])),
                               ("1 / T: the logit was multiplied by T somewhere", 1 / expected)], atol=2e-3 * expected)
    if not mistake and case == "uninformative" and abs(abs(found) - 4) <= 1e-2:  # an end of [-4, 4] itself
        mistake = " — T was searched within [-4, 4]: search log T within [-4, 4], so that T reaches e^4 = 54.6"
    assert abs(found - expected) <= 2e-3 * expected, (
        f"expected T = {expected:.4f} ({end}, the end of the search) for validation labels {labels.tolist()} and p "
        f"{scores.tolist()}, got {found:.4f}{mistake}")


def same_temperature(case: tuple, expected: float, found: object) -> bool:
    """Within 0.2% of the reference's T, or, where the loss hardly depends on T (p all 0.5), another T of the
    search whose validation log loss is as low."""
    found = float(found)
    if not math.exp(-4) * (1 - 1e-6) <= found <= math.exp(4) * (1 + 1e-6):
        return False
    validation, _, validation_labels, _ = case
    def loss(temperature):
        return two_class_log_loss(validation_labels, expit(logit(validation) / temperature))
    return abs(found - expected) <= 2e-3 * expected or loss(found) <= loss(expected) + 1e-9


@pytest.mark.exercise("8.6", points=1)
def test_fit_temperature_on_drawn_splits(lesson, reference):
    """Validation reviews of one class, p = 0 and 1, T at the ends of the search; a test split to leave alone."""
    check_close_to_reference("fit_temperature " + SPLITS, on_splits(lesson, lesson.fit_temperature),
                             on_splits(reference, reference.fit_temperature), splits(), same_temperature,
                             examples=FITS)


# --------------------------------------------------------------------------- 8.7 choose_threshold

# Validation: the rule p > t is right on 7, 8, 9, 8, 7, 6, 7 ... of 10 reviews for t = .1, .2, .3, .35, ...:
# t = 0.3 is best. Test: t = 0.6 is best there.
THRESHOLD_VALID = np.array([0.1, 0.2, 0.3, 0.35, 0.4, 0.45, 0.6, 0.7, 0.8, 0.9])
THRESHOLD_VALID_LABELS = np.array([0, 0, 0, 1, 1, 1, 0, 1, 1, 1])
THRESHOLD_TEST = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8])
THRESHOLD_TEST_LABELS = np.array([0, 0, 0, 0, 0, 0, 1, 1])


def choose(lesson, test_labels) -> float:
    return lesson.choose_threshold(*run_and_labels(lesson, THRESHOLD_VALID, THRESHOLD_TEST,
                                                   THRESHOLD_VALID_LABELS, test_labels))


@pytest.mark.exercise("8.7", points=2)
def test_choose_threshold_is_the_most_accurate_on_validation(lesson):
    found = choose(lesson, THRESHOLD_TEST_LABELS)
    mistake = which_of(found, [
        ("chosen on the test reviews: choose on validation", 0.6),
        ("the rule was p >= t: the course predicts positive when p > t", 0.35),
        ("the position of the best candidate, not its threshold", 2),
        ("the best accuracy, not the threshold that gives it", 0.9)])
    assert same(found, 0.3) and np.ndim(found) == 0, (
        f"expected t = 0.3 (9 of the 10 validation reviews right with p > 0.3), got {found!r}{mistake}")


def most_accurate(probabilities, labels) -> float:
    """The smallest of the distinct ``probabilities`` t whose rule p > t is most accurate on ``labels``."""
    candidates = np.unique(probabilities)
    return float(candidates[np.argmax([np.mean((probabilities > t) == labels) for t in candidates])])


# Validation: p > t is right on 3, 2, 3, 2 of the 4 reviews for t = 1/8, 3/8, 5/8, 7/8: a tie, and 1/8 the
# smaller. No p lies on a grid of hundredths: a grid's best t (0.13) is none of them.
TIED_VALID = np.array([0.125, 0.375, 0.625, 0.875])
TIED_VALID_LABELS = np.array([0, 1, 0, 1])


@pytest.mark.exercise("8.7", points=1)
def test_choose_threshold_takes_the_smallest_on_a_tie(lesson):
    assert most_accurate(TIED_VALID, TIED_VALID_LABELS) == 0.125  # the check's own arithmetic agrees
    found = lesson.choose_threshold(*run_and_labels(lesson, TIED_VALID, THRESHOLD_TEST, TIED_VALID_LABELS,
                                                    THRESHOLD_TEST_LABELS))
    mistake = which_of(found, [
        ("the largest of the tied thresholds: take the smallest (np.argmax gives the first best)", 0.625),
        ("the rule was p >= t: the course predicts positive when p > t", 0.375),
        ("chosen on the test reviews: choose on validation", most_accurate(THRESHOLD_TEST, THRESHOLD_TEST_LABELS)),
        ("the position of the best candidate, not its threshold", 0),
        ("the best accuracy, not the threshold that gives it", 0.75)], atol=1e-9)
    if not mistake and np.ndim(found) == 0 and not np.isin(found, TIED_VALID):
        mistake = " — not one of the validation probabilities: the candidates are the distinct validation p"
    assert same(found, 0.125, atol=1e-9) and np.ndim(found) == 0, (
        f"expected t = 0.125 for validation p {TIED_VALID.tolist()} and labels {TIED_VALID_LABELS.tolist()} (3 of "
        f"4 right with p > 0.125, as with p > 0.625: the smaller on a tie), got {found!r}{mistake}")


@pytest.mark.exercise("8.7", points=1)
def test_choose_threshold_on_drawn_splits(lesson, reference):
    """Ties among the candidates and in accuracy, validation reviews of one class, a single review."""
    check_agrees_with_reference("choose_threshold " + SPLITS, on_splits(lesson, lesson.choose_threshold),
                                on_splits(reference, reference.choose_threshold), splits(), EXAMPLES)


@pytest.mark.exercise("8.7", points=1)
def test_choose_threshold_never_reads_the_test_labels(lesson):
    # The check's own data: a threshold chosen on the test reviews moves when their labels are flipped.
    assert most_accurate(THRESHOLD_TEST, THRESHOLD_TEST_LABELS) != most_accurate(THRESHOLD_TEST,
                                                                              1 - THRESHOLD_TEST_LABELS)
    found = [choose(lesson, labels) for labels in (THRESHOLD_TEST_LABELS, 1 - THRESHOLD_TEST_LABELS)]
    assert same(found[0], found[1], atol=0), (
        f"expected the same threshold when only the test labels change, got {found[0]!r}, then {found[1]!r} with "
        "the test labels flipped — the threshold was chosen on the test reviews: choose on validation only")


# --------------------------------------------------------------------------- 8.8 the stack

def crafted_members(seed: int = 0) -> tuple[dict, dict]:
    """({split: labels}, {split: [probabilities of each member]}): three members of different quality on 300
    validation and 200 test reviews, rounded to float16 as saved predictions are."""
    rng = np.random.default_rng(seed)
    labels, scores = {}, {}
    for split, size in (("validation", 300), ("test", 200)):
        signal = rng.normal(size=size)
        labels[split] = (signal + 0.5 * rng.normal(size=size) > 0).astype(int)
        scores[split] = [expit(scale * signal + noise * rng.normal(size=size)).astype(np.float16).astype(np.float64)
                         for scale, noise in ((3.0, 1.0), (1.0, 1.5), (0.5, 2.0))]
    return labels, scores


STACK_LABELS, STACK_SCORES = crafted_members()


def stack_inputs(lesson, flip_test=False):
    test_labels = 1 - STACK_LABELS["test"] if flip_test else STACK_LABELS["test"]
    runs = [lesson.Run(f"member {i}", valid, test[::-1] if flip_test else test)
            for i, (valid, test) in enumerate(zip(STACK_SCORES["validation"], STACK_SCORES["test"]))]
    return runs, lesson.Labels(STACK_LABELS["validation"], test_labels)


def features(split: str, transform=logit) -> np.ndarray:
    return np.column_stack([transform(scores) for scores in STACK_SCORES[split]])


def stack_fitted_on(*splits: str, transform=logit) -> LogisticRegression:
    return LogisticRegression().fit(np.vstack([features(split, transform) for split in splits]),
                                    np.concatenate([STACK_LABELS[split] for split in splits]))


def on_validation_logits(stack) -> np.ndarray:
    """What a fitted stack says about the validation reviews, given the members' logits."""
    return stack.predict_proba(features("validation"))[:, 1]


@pytest.mark.exercise("8.8", points=2)
def test_fit_stack_is_a_logistic_regression_on_validation_logits(lesson):
    expected = on_validation_logits(stack_fitted_on("validation"))
    found = on_validation_logits(lesson.fit_stack(*stack_inputs(lesson)))
    mistake = which_of(found, [
        ("fitted on the test reviews: fit on validation only", on_validation_logits(stack_fitted_on("test"))),
        ("fitted on the validation and test reviews together: fit on validation only",
         on_validation_logits(stack_fitted_on("validation", "test"))),
        ("the features were the probabilities: use their logits (the lesson's logit)",
         on_validation_logits(stack_fitted_on("validation", transform=lambda p: p)))], atol=1e-4)
    worst = int(np.argmax(np.abs(found - expected)))
    assert same(found, expected, atol=1e-4), (
        f"expected the stack's probability {expected[worst]:.4f} for validation review {worst} (LogisticRegression() "
        f"fitted on the validation logits), got {found[worst]:.4f}{mistake}")


@pytest.mark.exercise("8.8", points=2)
def test_fit_stack_never_reads_the_test_labels(lesson):
    # The check's own data: a stack fitted on the test reviews moves when they are flipped.
    flipped = LogisticRegression().fit(features("test")[::-1], 1 - STACK_LABELS["test"])
    assert not same(on_validation_logits(stack_fitted_on("test")), on_validation_logits(flipped), atol=1e-3)
    found = [on_validation_logits(lesson.fit_stack(*stack_inputs(lesson, flip_test))) for flip_test in (False, True)]
    assert same(found[0], found[1], atol=1e-12), (
        f"expected the same stack when only the test reviews change, got weights that moved the validation "
        f"probabilities by up to {np.max(np.abs(found[0] - found[1])):.3f} with the test labels flipped — the stack "
        "read the test reviews' labels: fit on validation only")


@pytest.mark.exercise("8.8", points=1)
def test_stack_probabilities_on_both_splits(lesson):
    stack = stack_fitted_on("validation")
    runs, _ = stack_inputs(lesson)
    found = lesson.stack_probabilities(stack, runs)
    for split in ("validation", "test"):
        expected = stack.predict_proba(features(split))[:, 1]
        values = np.asarray(getattr(found, split), dtype=np.float64)
        mistake = which_of(values, [
            ("the probability of negative: predict_proba(...)[:, 1] is the probability of positive", 1 - expected),
            ("0/1 decisions, not probabilities: use predict_proba", (expected > 0.5).astype(float)),
            ("the stack was given probabilities: give it the logits it was fitted on",
             stack.predict_proba(features(split, transform=lambda p: p))[:, 1])], atol=1e-6)
        assert same(values, expected, atol=1e-6), (
            f"expected the stack's probabilities of positive on the {split} reviews {rounded(expected[:3])}..., "
            f"got {rounded(values[:3])}...{mistake}")


@st.composite
def members(draw) -> tuple[np.ndarray, list[np.ndarray], np.ndarray, list[np.ndarray]]:
    """(validation labels, each member's validation p, test labels, each member's test p): 1 to 3 members, a
    stack of one being Platt scaling."""
    count = draw(st.integers(1, 3))
    validation_labels, first = draw(reviews())
    test_labels, first_test = draw(reviews(max_size=6))
    def more(size):
        return st.lists(st.lists(probability(), min_size=size, max_size=size).map(np.array),
                        min_size=count - 1, max_size=count - 1)
    return (validation_labels, [first, *draw(more(len(first)))], test_labels,
            [first_test, *draw(more(len(first_test)))])


def member_runs(lesson, validation_labels, validation, test_labels, test) -> tuple[list, object]:
    runs = [lesson.Run(f"member {i}", v, t) for i, (v, t) in enumerate(zip(validation, test))]
    return runs, lesson.Labels(validation_labels, test_labels)


def stack_says(lesson, fit: Callable) -> Callable:
    """What the stack ``fit`` returns says about the drawn members' validation reviews."""
    def says(validation_labels, validation, test_labels, test):
        stack = fit(*member_runs(lesson, validation_labels, validation, test_labels, test))
        return stack.predict_proba(np.column_stack([logit(p) for p in validation]))[:, 1]
    return says


@pytest.mark.exercise("8.8", points=1)
def test_fit_stack_on_drawn_members(lesson, reference):
    """One to three members, p = 0 and 1, validation reviews of one class (which LogisticRegression refuses);
    a test split to leave alone. Compared to 1e-4, as scikit-learn's solver stops within its tolerance."""
    check_close_to_reference(
        "fit_stack, then predict_proba on the validation logits, on (labels.validation, each run.validation, "
        "labels.test, each run.test) = ", stack_says(lesson, lesson.fit_stack),
        stack_says(reference, reference.fit_stack), members(), close_arrays(atol=1e-4), examples=FITS)


def a_stack(weights: list[float], intercept: float) -> LogisticRegression:
    """A fitted LogisticRegression with these weights, as fit_stack would return one."""
    stack = LogisticRegression()
    stack.coef_, stack.intercept_ = np.array([weights]), np.array([intercept])
    stack.classes_, stack.n_features_in_ = np.array([0, 1]), len(weights)
    return stack


def stacks_and_members() -> st.SearchStrategy:
    weight = st.one_of(st.sampled_from([0.0, 1.0, -1.0]), st.floats(-3, 3))
    return members().flatmap(lambda drawn: st.tuples(
        st.lists(weight, min_size=len(drawn[1]), max_size=len(drawn[1])), weight, st.just(drawn[1]),
        st.just(drawn[3])))


def both_splits(lesson, function: Callable) -> Callable:
    """The stack's Run, as its (validation, test) probabilities, for drawn weights and members."""
    def run(weights, intercept, validation, test):
        runs = [lesson.Run(f"member {i}", v, t) for i, (v, t) in enumerate(zip(validation, test))]
        found = function(a_stack(weights, intercept), runs)
        return [np.asarray(found.validation, np.float64).tolist(), np.asarray(found.test, np.float64).tolist()]
    return run


def close_splits(case, expected, found) -> bool:
    return len(found) == 2 and all(close_arrays(atol=1e-9)(case, e, f) for e, f in zip(expected, found))


@pytest.mark.exercise("8.8", points=1)
def test_stack_probabilities_on_drawn_stacks(lesson, reference):
    """Weights of 0, of either sign, one to three members, p = 0 and 1, splits of different sizes."""
    check_close_to_reference(
        "stack_probabilities, as (validation, test), on (weights, intercept, each run.validation, each run.test) = ",
        both_splits(lesson, lesson.stack_probabilities), both_splits(reference, reference.stack_probabilities),
        stacks_and_members(), close_splits)
