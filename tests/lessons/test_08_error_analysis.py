"""Graded checks of lesson 8: the confusion matrix, the most confident mistakes, accuracy by group, where two
models disagree, the expected calibration error, temperature scaling, the decision threshold and a stack.

Every check runs on small crafted inputs in well under a second. The functions that fit something receive
the test labels too (``Labels``), as the lesson's data comes; the checks flip those labels and require the
fitted temperature, threshold or stack unchanged, so a fit that reads the test split fails.
"""

import numpy as np
import pytest
from checking import dict_difference, rounded, same, which_of
from scipy.optimize import minimize_scalar
from scipy.special import expit
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import confusion_matrix, log_loss

LESSON = "08"
EPS = 1e-4  # the lesson's clipping before a logit


def logit(probabilities) -> np.ndarray:
    kept = np.clip(np.asarray(probabilities, dtype=np.float64), EPS, 1 - EPS)
    return np.log(kept / (1 - kept))


def run_and_labels(lesson, validation, test, validation_labels, test_labels):
    """The lesson's Run and Labels for arrays of the check's own."""
    return (lesson.Run("crafted", np.asarray(validation, np.float64), np.asarray(test, np.float64)),
            lesson.Labels(np.asarray(validation_labels), np.asarray(test_labels)))


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
def test_confusion_of_positive_reviews_only_is_two_by_two(lesson):
    found = np.asarray(lesson.confusion(np.array([1, 1, 1]), np.array([0.7, 0.8, 0.9])))
    hint = " — confusion_matrix keeps only the labels it sees: pass labels=[0, 1]" if found.shape == (1, 1) else ""
    assert found.shape == (2, 2) and same(found, [[0, 0], [0, 3]]), (
        f"expected [[0, 0], [0, 3]] for three positive reviews predicted positive, got {found.tolist()}{hint}")


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
    confidence (Guo et al.), or signed gaps."""
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
    total = float(np.sum(np.asarray(weights) * gaps)) if weighted else float(np.mean(gaps))
    return abs(total)


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
        ("signed gaps cancel out: take |fraction positive - mean p| in each bin", ece(bins, absolute=False))],
        atol=1e-6)
    assert abs(found - expected) < 1e-6, (
        f"expected ECE {expected} with {bins} bins on the ten-review example (worked out in "
        f"tests/lessons/test_08_error_analysis.py), got {found:.4f}{mistake}")


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


def crafted_scores(size: int, temperature: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(labels, probabilities) of a model whose probabilities need ``temperature`` to be calibrated."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 3, size)
    labels = (rng.random(size) < expit(logits / temperature)).astype(int)
    return labels, np.round(expit(logits), 4)


# Validation wants T near 2.5 (overconfident), test near 0.5: a fit on the wrong split shows.
VALID_LABELS, VALID_SCORES = crafted_scores(400, 2.5, seed=1)
TEST_LABELS, TEST_SCORES = crafted_scores(300, 0.5, seed=2)


def best_temperature(labels, probabilities, loss=log_loss) -> float:
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
    assert abs(found[0] - found[1]) <= 1e-9 * found[0], (
        f"expected the same temperature when only the test reviews change, got T = {found[0]:.4f}, then "
        f"{found[1]:.4f} with the test labels flipped — the temperature was fitted on the test reviews: fit on "
        "validation only")


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


@pytest.mark.exercise("8.7", points=1)
def test_choose_threshold_never_reads_the_test_labels(lesson):
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
    found = [on_validation_logits(lesson.fit_stack(*stack_inputs(lesson, flip_test))) for flip_test in (False, True)]
    assert same(found[0], found[1], atol=1e-12), (
        f"expected the same stack when only the test reviews change, got weights that moved the validation "
        f"probabilities by up to {np.max(np.abs(found[0] - found[1])):.3f} with the test labels flipped — the stack "
        "was fitted on the test reviews: fit on validation only")


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
