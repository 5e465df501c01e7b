"""Graded checks of lesson 2: TF-IDF features, the log-count ratio, NB features, choosing C, accuracy.

Each check compares what the learner's function does with what it should, and where a known mistake
(tests/known_wrong/02_classical.py) explains the difference, names it. ``choose_c`` is judged with stub
models whose accuracy the check sets, so that what it chose says how it chose. Worked examples come first;
then the edges each statement names, then answers compared with the reference's on drawn inputs
(tests/lessons/randomized.py).
"""

import numpy as np
import pytest
from checking import check_calibrated_accuracy, same, which_mistake, which_of
from hypothesis import strategies as st
from randomized import check_agrees_with_reference
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from shared.data import Imdb, stratified_sample
from shared.text import clean_html

LESSON = "02"

# --------------------------------------------------------------------------- 2.1 make_vectorizer

# Short reviews with what the vectorizer must handle: <br />, apostrophes, upper case, word pairs, a word
# repeated many times (sublinear tf) and n-grams seen in one review only (min_df=2).
CORPUS = ["Don't watch it. Not good, not good at all.<br />Really.",
          "don't miss: not good<br /><br />really bad bad bad bad bad bad bad bad",
          "Good fun, really good fun.",
          "good fun and not bad at all",
          "Bad movie, bad acting, bad bad bad bad"]

VECTORIZER_MISTAKES = [  # (the mistake, the settings that make it)
    ("the default token pattern splits \"don't\" into \"don\" and \"t\": keep apostrophes inside words "
     "(token_pattern)", {"token_pattern": r"(?u)\b\w\w+\b"}),
    ("'br' became a token: clean the HTML with clean_html in the preprocessor", {"preprocessor": None}),
    ("upper-case kept ('Good' and 'good' are two features): a preprocessor replaces lowercase=True, "
     "so lower-case in it", {"preprocessor": clean_html}),
    ("n-grams seen in a single review were kept: min_df=2", {"min_df": 1}),
    ("no word pairs: ngram_range=(1, 2)", {"ngram_range": (1, 1)}),
    ("raw term frequency: use sublinear_tf=True (1 + log tf)", {"sublinear_tf": False}),
    ("apostrophes at the ends of words were kept ('great' with its quotes): keep them only inside words, after a "
     "word character", {"token_pattern": r"(?u)[\w']+"}),
    ("one apostrophe a word (\"rock'n'roll\" split in two): keep every apostrophe inside a word",
     {"token_pattern": r"(?u)\b\w+(?:'\w+)?\b"}),
]


def reference_vectorizer(**change) -> TfidfVectorizer:
    """Exercise 2.1's vectorizer, or, with ``change``, one of its known mistakes."""
    settings = {"ngram_range": (1, 2), "min_df": 2, "sublinear_tf": True, "token_pattern": r"(?u)\b\w[\w']*\b",
                "preprocessor": lambda review: clean_html(review).lower()}
    return TfidfVectorizer(**(settings | change))


def features_of(vectorizer, texts: list[str] = CORPUS) -> tuple[list[str], np.ndarray]:
    """(feature names, dense TF-IDF matrix) of ``vectorizer`` fitted on ``texts``."""
    matrix = vectorizer.fit_transform(texts)
    return list(vectorizer.get_feature_names_out()), matrix.toarray().astype(np.float64)


@pytest.mark.exercise("2.1", points=1)
def test_vectorizer_features_of_short_reviews(lesson):
    found, _ = features_of(lesson.make_vectorizer())
    expected, _ = features_of(reference_vectorizer())
    mistake = which_of(found, [(name, features_of(reference_vectorizer(**change))[0])
                               for name, change in VECTORIZER_MISTAKES])
    missing, extra = sorted(set(expected) - set(found)), sorted(set(found) - set(expected))
    differences = [f"missing {missing[:5]}"] * bool(missing) + [f"unexpected {extra[:5]}"] * bool(extra)
    assert found == expected, (f"expected {len(expected)} features from {len(CORPUS)} short reviews, got "
                               f"{len(found)}; {', '.join(differences) or 'in another order'}{mistake}")


@pytest.mark.exercise("2.1", points=1)
def test_vectorizer_weights_of_short_reviews(lesson):
    names, found = features_of(lesson.make_vectorizer())
    expected_names, expected = features_of(reference_vectorizer())
    assert names == expected_names, (f"expected the {len(expected_names)} features of the reference before "
                                     f"comparing weights, got {len(names)}: see the other check of exercise 2.1")
    mistake = which_of(found, [(name, features_of(reference_vectorizer(**change))[1])
                               for name, change in VECTORIZER_MISTAKES])
    row = int(np.argmax(np.abs(found - expected).max(axis=1)))
    assert np.allclose(found, expected, atol=1e-5), (
        f"expected the TF-IDF weights {np.round(expected[row][expected[row] > 0], 3).tolist()} for review {row}, "
        f"got {np.round(found[row][found[row] > 0], 3).tolist()}{mistake}")


# Quotes around a word, apostrophes inside one, a bigram across a <br />, n-grams in exactly 2 reviews and in 1
EDGE_CORPUS = ["'Great' fun, rock'n'roll!", "great FUN<br />rock'n'roll", "Dull."]


@pytest.mark.exercise("2.1", points=1)
def test_vectorizer_features_on_the_edges_of_words(lesson):
    found, _ = features_of(lesson.make_vectorizer(), EDGE_CORPUS)
    expected = ["fun", "fun rock'n'roll", "great", "great fun", "rock'n'roll"]
    mistake = which_of(found, [(name, features_of(reference_vectorizer(**change), EDGE_CORPUS)[0])
                               for name, change in VECTORIZER_MISTAKES])
    assert found == expected, f"expected the features {expected} of {EDGE_CORPUS}, got {found}{mistake}"


WORDS = ["good", "Good", "BAD", "not", "don't", "it's", "rock'n'roll", "'great'", "dogs'", "10", "film"]
SEPARATORS = [" ", " ", ". ", ", ", "<br />", "<i>", "! "]


def reviews() -> st.SearchStrategy[str]:
    """Words with a separator after each (glued words would make apostrophes that no statement settles), and no
    one-letter words, which the statement does not say are tokens."""
    return st.lists(st.tuples(st.sampled_from(WORDS), st.sampled_from(SEPARATORS)).map("".join),
                    max_size=8).map("".join)


def features_on(make_vectorizer):
    """The features a fresh vectorizer of ``make_vectorizer`` makes of the texts it is given."""
    return lambda texts: features_of(make_vectorizer(), texts)


@pytest.mark.exercise("2.1", points=1)
def test_vectorizer_weights_are_float32(lesson):
    found = lesson.make_vectorizer().fit_transform(CORPUS).dtype
    assert found == np.float32, f"expected float32 weights, as the statement asks, got {found}: dtype=np.float32"


@pytest.mark.exercise("2.1", points=1)
def test_vectorizer_on_drawn_corpora(lesson, reference):
    check_agrees_with_reference("the features of make_vectorizer().fit_transform", features_on(lesson.make_vectorizer),
                                features_on(reference.make_vectorizer), st.tuples(st.lists(reviews(), max_size=6)),
                                atol=1e-5)


# --------------------------------------------------------------------------- 2.2 log_count_ratio

# 5 reviews x 4 n-grams; counts exceed 1, but only presence matters. Positive: rows 0, 1 and 4.
COUNTS = sparse.csr_matrix(np.array([[2, 0, 1, 0], [1, 1, 0, 3], [0, 3, 1, 1], [0, 0, 2, 1], [4, 1, 0, 0]]))
LABELS = np.array([1, 1, 0, 0, 1])


def ratio(alpha: float, *, binary=True, normalise=True, alpha_after_sums=False) -> np.ndarray:
    """Exercise 2.2's log-count ratio of COUNTS, or, through the keywords, one of its known mistakes."""
    x = (COUNTS.toarray() > 0) if binary else COUNTS.toarray()
    p, q = x[LABELS == 1].sum(axis=0).astype(float), x[LABELS == 0].sum(axis=0).astype(float)
    if alpha_after_sums:
        return np.log(((p + alpha) / p.sum()) / ((q + alpha) / q.sum()))
    p, q = p + alpha, q + alpha
    return np.log((p / p.sum()) / (q / q.sum())) if normalise else np.log(p / q)


@pytest.mark.exercise("2.2", points=1)
@pytest.mark.parametrize("alpha", [1.0, 0.5])
def test_log_count_ratio_of_a_small_example(lesson, alpha):
    # alpha = 1: p = 1 + [3, 2, 1, 1] = [4, 3, 2, 2] (sum 11); q = 1 + [0, 1, 2, 2] = [1, 2, 3, 3] (sum 9)
    expected = ratio(alpha)
    found = np.asarray(lesson.log_count_ratio(COUNTS, LABELS, alpha=alpha))
    check_one_ratio_per_feature(found, 4)
    mistake = which_of(found, [
        ("counts, not presence: binarise the features (> 0) before summing", ratio(alpha, binary=False)),
        ("p and q were not divided by their sums ||p||_1 and ||q||_1", ratio(alpha, normalise=False)),
        ("the sign is flipped: p sums the positive reviews (label 1), q the negative ones", -expected),
        ("alpha was added after summing: ||p||_1 is the sum of the smoothed p", ratio(alpha, alpha_after_sums=True)),
        ("alpha was ignored: the smoothing was fixed at 1", ratio(1.0)),
    ])
    assert np.allclose(found, expected, atol=1e-5), (
        f"expected {np.round(expected, 4).tolist()} with alpha={alpha}, got {np.round(found, 4).tolist()}{mistake}")


def check_one_ratio_per_feature(found: np.ndarray, features: int) -> None:
    assert found.shape == (features,), (
        f"expected one ratio per feature, shape ({features},), got {found.shape}" + which_mistake(found.shape, {
            "a 1 x n matrix: flatten the column sums with np.asarray(...).ravel()": (1, features),
            "squeeze() drops every axis of length 1, with one feature its only one: flatten with ravel()": ()}))


@pytest.mark.exercise("2.2", points=1)
def test_log_count_ratio_of_a_single_feature(lesson):
    found = np.asarray(lesson.log_count_ratio(sparse.csr_matrix([[2.0], [0.0], [1.0]]), np.array([1, 0, 0])))
    check_one_ratio_per_feature(found, 1)
    assert np.allclose(found, [0.0]), f"expected [0.0] (p / ||p||_1 = q / ||q||_1 = 1), got {found.tolist()}"


class ShownCsr(sparse.csr_matrix):
    """A sparse matrix that a failed drawn check shows by its rows."""

    def __repr__(self) -> str:
        return f"csr_matrix({self.toarray().tolist()})"


class ShownCsc(sparse.csc_matrix):
    def __repr__(self) -> str:
        return f"csc_matrix({self.toarray().tolist()})"


@st.composite
def counts(draw) -> sparse.spmatrix:
    """1 to 8 reviews x 1 to 6 n-grams, CSR or CSC: absent, below 1 (TF-IDF), 1 and counts above 1."""
    rows, columns = draw(st.integers(1, 8)), draw(st.integers(1, 6))
    values = draw(st.lists(st.sampled_from([0.0, 0.0, 0.5, 1.0, 2.0, 3.0]), min_size=rows * columns,
                           max_size=rows * columns))
    return draw(st.sampled_from([ShownCsr, ShownCsc]))(np.reshape(values, (rows, columns)))


def ratio_cases() -> st.SearchStrategy[tuple]:
    """(features, labels, alpha): any labels (one class only too), alpha the usual 1, a half, or any in between."""
    def labelled(features):
        labels = st.lists(st.integers(0, 1), min_size=features.shape[0], max_size=features.shape[0]).map(np.array)
        return st.tuples(st.just(features), labels, st.sampled_from([1.0, 0.5]) | st.floats(0.05, 4.0))
    return counts().flatmap(labelled)


@pytest.mark.exercise("2.2", points=1)
def test_log_count_ratio_on_drawn_features(lesson, reference):
    check_agrees_with_reference("log_count_ratio", lesson.log_count_ratio, reference.log_count_ratio, ratio_cases(),
                                atol=1e-5)


# --------------------------------------------------------------------------- 2.3 nb_features


@pytest.mark.exercise("2.3", points=1)
def test_nb_features_binarise_and_scale_columns(lesson):
    features = sparse.csr_matrix(np.array([[2.0, 0.0, 0.5], [0.0, 1.0, 0.0]]))
    ratios = np.array([0.5, -2.0, 3.0])
    found = lesson.nb_features(features, ratios)
    shape = getattr(found, "shape", None)
    assert shape == (2, 3), f"expected shape (2, 3), a row per review and a column per n-gram, got {shape}" + (
        " — one number per review: `@ ratio` sums the scaled columns; scale each column instead" if shape == (2,)
        else "")
    assert sparse.issparse(found), (f"expected a sparse matrix (IMDB has hundreds of thousands of n-grams), "
                                    f"got a dense {type(found).__name__}")
    expected = np.array([[0.5, 0.0, 3.0], [0.0, -2.0, 0.0]])
    mistake = which_mistake(found.toarray(), {"the counts were scaled, not the binary features: binarise first "
                                              "(features > 0)": features.toarray() * ratios})
    assert np.allclose(found.toarray(), expected), (
        f"expected {expected.tolist()}, got {found.toarray().tolist()}{mistake}")


@pytest.mark.exercise("2.3", points=1)
def test_nb_features_leave_their_input_unchanged(lesson):
    features = sparse.csr_matrix(np.array([[2.0, 0.0, 0.5], [0.0, 3.0, 0.0]]))
    lesson.nb_features(features, np.array([1.0, 2.0, 3.0]))
    after = features.toarray().tolist()
    assert after == [[2.0, 0.0, 0.5], [0.0, 3.0, 0.0]], (
        f"expected the features passed in to stay [[2.0, 0.0, 0.5], [0.0, 3.0, 0.0]], got {after} — the features "
        "passed in were changed in place: binarise a copy (features > 0 makes a new matrix)")


def scaled(nb_features):
    """What exercise 2.3 promises of nb_features(features, ratio): sparse, its values, its input left as it was."""
    def promised(features, ratio):
        before = features.toarray()
        found = nb_features(features, ratio.copy())
        values = found.toarray() if sparse.issparse(found) else np.asarray(found)
        return {"sparse": sparse.issparse(found), "values": values.astype(np.float64),
                "features unchanged": bool(np.array_equal(features.toarray(), before))}
    return promised


def nb_cases() -> st.SearchStrategy[tuple]:
    """(features, ratio): a ratio per column, negative, zero or positive."""
    ratios = st.sampled_from([0.0, -2.0]) | st.floats(-4.0, 4.0)
    return counts().flatmap(lambda features: st.tuples(st.just(features), st.lists(
        ratios, min_size=features.shape[1], max_size=features.shape[1]).map(np.array)))


@pytest.mark.exercise("2.3", points=1)
def test_nb_features_on_drawn_features(lesson, reference):
    check_agrees_with_reference("nb_features", scaled(lesson.nb_features), scaled(reference.nb_features), nb_cases(),
                                atol=1e-5)


# --------------------------------------------------------------------------- 2.4 choose_c

X_TRAIN, Y_TRAIN = np.arange(16.0).reshape(8, 2), np.array([0, 1] * 4)  # not the validation size
X_VALID, Y_VALID = np.arange(100.0, 108.0).reshape(4, 2), np.array([1, 0, 1, 0])
CANDIDATES = [0.01, 0.1, 1.0, 10.0, 100.0]
ACCURACY = {"validation": [0.5, 0.25, 0.75, 0.75, 0.5],  # the stub model's accuracy per candidate
            "training": [0.25, 0.5, 0.5, 0.5, 1.0]}
SPLITS = {"training": X_TRAIN, "validation": X_VALID, "training and validation": np.vstack([X_TRAIN, X_VALID]),
          "validation and training": np.vstack([X_VALID, X_TRAIN])}


def split_of(x) -> str:
    """Which data ``x`` is: "training", "validation", both, or something else."""
    x = x.toarray() if sparse.issparse(x) else np.asarray(x)
    return next((name for name, data in SPLITS.items() if same(x, data)), f"other data of shape {x.shape}")


class StubModel:
    """A classifier whose accuracy the check sets: ``accuracy[split][c]`` on a split's reviews (ACCURACY of
    CANDIDATES unless told), whatever it was fitted on; it records the data it was fitted on in ``fits``."""

    def __init__(self, c: float, fits: list, accuracy: dict | None = None):
        self.c, self.fits = c, fits
        self.accuracy = accuracy or {split: dict(zip(CANDIDATES, values)) for split, values in ACCURACY.items()}

    def fit(self, x, y):
        self.fits.append((self.c, split_of(x)))
        return self

    def predict(self, x):
        split = split_of(x)
        truth = {"training": Y_TRAIN, "validation": Y_VALID}.get(split)
        if truth is None:
            return np.zeros(x.shape[0], dtype=int)
        wrong = round((1 - self.accuracy[split][self.c]) * len(truth))
        return np.where(np.arange(len(truth)) < wrong, 1 - truth, truth)

    def score(self, x, y):
        return float(np.mean(self.predict(x) == np.asarray(y)))


def choose_with_stubs(choose_c, candidates: list[float] = CANDIDATES,
                      accuracy: dict | None = None) -> tuple[object, list, list]:
    """(the C chosen, the Cs models were made for, (C, data) of every fit) for the stub models."""
    made, fits = [], []

    def make_model(c):
        made.append(c)
        return StubModel(c, fits, accuracy)

    chosen = choose_c(make_model, X_TRAIN, Y_TRAIN, X_VALID, Y_VALID, list(candidates))
    return chosen, made, fits


@pytest.mark.exercise("2.4", points=1)
def test_choose_c_takes_the_first_most_accurate_on_validation(lesson):
    chosen, made, _ = choose_with_stubs(lesson.choose_c)
    assert sorted(set(made)) == CANDIDATES, f"expected a model for each candidate C {CANDIDATES}, got {made}"
    mistake = which_of(chosen, [
        ("chosen by training accuracy: judge the candidates on the validation split", 100.0),
        ("the least accurate candidate (argmin): choose the most accurate", 0.1),
        ("ties keep the first candidate: this kept the last of the two best", 10.0),
        ("the index of the best candidate, not its C", 2)])
    accuracies = dict(zip(CANDIDATES, ACCURACY["validation"]))
    assert same(chosen, 1.0) and not isinstance(chosen, (list, tuple, np.ndarray)), (
        f"expected C=1.0, the first of the two most accurate on validation {accuracies}, got {chosen!r}{mistake}")


@pytest.mark.exercise("2.4", points=1)
def test_choose_c_fits_every_candidate_on_the_training_split(lesson):
    _, _, fits = choose_with_stubs(lesson.choose_c)
    found = sorted({split for _, split in fits})
    mistake = which_of(found, [
        ("the models were fitted on the validation data: fit on the training split, judge on validation",
         ["validation"]),
        ("fitted on the training and validation data together: validation must stay unseen until the "
         "models are judged", ["training and validation"])])
    assert found == ["training"], f"expected every model fitted on the training split, got fits on {found}{mistake}"
    fitted = sorted({c for c, _ in fits})
    assert fitted == CANDIDATES, f"expected a model fitted for each candidate {CANDIDATES}, got fits for {fitted}"


@pytest.mark.exercise("2.4", points=1)
def test_choose_c_picks_the_best_logistic_regression_on_validation(lesson):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 20))
    y = (x[:, 0] + 0.5 * rng.normal(size=400) > 0).astype(int)
    chosen = lesson.choose_c(lambda c: LogisticRegression(C=c), x[:300], y[:300], x[300:], y[300:], [1e-4, 1.0])
    assert same(chosen, 1.0), f"expected C=1.0 (with C=1e-4 the model barely learns), got {chosen!r}"


@pytest.mark.exercise("2.4", points=1)
def test_choose_c_when_every_candidate_gets_every_review_wrong(lesson):
    candidates = [0.1, 1.0, 10.0]
    accuracy = {"validation": dict.fromkeys(candidates, 0.0), "training": dict.fromkeys(candidates, 1.0)}
    chosen, _, _ = choose_with_stubs(lesson.choose_c, candidates, accuracy)
    mistake = which_mistake(chosen, {"nothing chosen when every candidate scores 0: the best score started at 0 and "
                                     "none beat it; start from the first candidate": None})
    assert same(chosen, 0.1), (f"expected C=0.1, the first of three candidates all tied at 0% on validation, "
                               f"got {chosen!r}{mistake}")


@st.composite
def races(draw) -> tuple[list[float], list[float], list[float]]:
    """(candidates in any order, their validation accuracies, their training accuracies), ties and all."""
    candidates = draw(st.lists(st.sampled_from([0.001, 0.01, 0.1, 0.25, 1.0, 4.0, 16.0, 100.0]), min_size=1,
                               max_size=6, unique=True))
    accuracies = st.lists(st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0]), min_size=len(candidates),
                          max_size=len(candidates))
    return candidates, draw(accuracies), draw(accuracies)


def stub_choice(choose_c):
    """choose_c of stub models whose accuracies a drawn race sets."""
    def chosen(candidates, validation, training):
        accuracy = {"validation": dict(zip(candidates, validation)), "training": dict(zip(candidates, training))}
        return choose_with_stubs(choose_c, candidates, accuracy)[0]
    return chosen


@pytest.mark.exercise("2.4", points=1)
def test_choose_c_on_drawn_races(lesson, reference):
    check_agrees_with_reference("choose_c of stub models, with (candidates, validation accuracies, training "
                                "accuracies) = ", stub_choice(lesson.choose_c), stub_choice(reference.choose_c),
                                races())


def nbsvm_accuracy(lesson, imdb: Imdb, seed: int, workdir) -> float:
    """NB-SVM's test accuracy (the lesson's run_experiment) trained on 2,000 training reviews and tested on
    1,000 test reviews, both drawn with ``seed``."""
    subset = Imdb(stratified_sample(imdb.train, 2_000, seed=seed), stratified_sample(imdb.test, 1_000, seed=seed))
    return float(lesson.run_experiment(subset, lesson.CONFIGS["nbsvm"])["test_accuracy"])


# tests/lessons/calibrate.py sets the threshold from the solution's runs
CALIBRATED = {"2.4 NB-SVM on 2,000 reviews": nbsvm_accuracy}


@pytest.mark.slow
@pytest.mark.exercise("2.4", points=3)
def test_nbsvm_accuracy_on_a_real_subset(lesson, imdb, tmp_path):
    check_calibrated_accuracy("2.4 NB-SVM on 2,000 reviews", nbsvm_accuracy(lesson, imdb, seed=0, workdir=tmp_path),
                              "on 1,000 test reviews for NB-SVM trained on 2,000")
