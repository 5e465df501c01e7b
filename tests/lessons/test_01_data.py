"""Graded checks of lesson 1: split counts, cleaning, lengths, the vocabulary, id sequences, the split by movie.

Each check compares what the learner's function returns with what it should, and where a known mistake
(tests/known_wrong/01_data.py) explains the difference, names it. Checks of later exercises build their
expectations from the learner's own earlier functions (clean_review, build_vocabulary), so that one
exercise's mistake does not fail the next one's checks. Worked examples come first; then the edges each
statement names, then answers compared with the reference's on drawn inputs (tests/lessons/randomized.py).
"""

import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest
from checking import dict_difference, which_mistake, which_of
from hypothesis import strategies as st
from randomized import check_agrees_with_reference, check_holds

from shared.data import Imdb, Reviews

LESSON = "01"


class ShownReviews(Reviews):
    """Reviews that a failed drawn check shows by what exercise 1.1 to 1.5 read of them."""

    def __repr__(self) -> str:
        return f"Reviews(texts={self.texts!r}, labels={self.labels.tolist()})"


class MoviesReviews(Reviews):
    """Reviews that a failed drawn check of exercise 1.6 shows by their movies and labels."""

    def __repr__(self) -> str:
        return f"Reviews(movies={self.movies.tolist()}, labels={self.labels.tolist()})"


class ShownImdb(Imdb):
    def __repr__(self) -> str:
        return f"Imdb(train={self.train.texts!r}, test={self.test.texts!r})"


def reviews_of(texts: list[str], labels=None, kind: type[Reviews] = Reviews) -> Reviews:
    labels = np.arange(len(texts)) % 2 if labels is None else np.asarray(labels, dtype=np.int64)
    return kind(list(texts), labels, np.where(labels == 1, 8, 2))


# Pieces of drawn reviews. No "<" or ">" outside a tag and no tag over 40 characters: there, right tag patterns
# (<[^>]*>, <.*?>, the reference's) disagree, and the statement does not say which is meant.
TAGS = ["<br />", "<br/>", "<BR>", "<i>", "</i>", "<p class='note'>", '<a href="https://www.imdb.com/title/tt01">',
        "</a>"]
WORDS = ["film", "Film", "GOOD", "good", "bad", "it's", "zebra", "café"]
SEPARATORS = [" ", " ", ". ", ", ", "<br />", "!", " 10/10 ", "\t"]


def raw_reviews() -> st.SearchStrategy[str]:
    """Texts with what cleaning handles: both cases, letters outside a-z, digits, punctuation, white space, tags."""
    return st.lists(st.sampled_from(TAGS) | st.text("abyzABYZéÉ09 \t\n.,!?'-/&;", max_size=8),
                    max_size=10).map("".join)


def word_reviews() -> st.SearchStrategy[str]:
    """Texts of a few words, repeated (counts, ties, min_count) and written several ways (case, punctuation)."""
    return st.lists(st.sampled_from(WORDS + SEPARATORS), max_size=12).map("".join)


PROBES = {"clean_review": ("A review.",), "build_vocabulary": (["a review"],)}


@contextmanager
def reference_calling(reference, lesson, *names: str, **functions) -> Iterator:
    """The reference solution calling the learner's own ``names`` (clean_review, build_vocabulary), and the given
    ``functions``, instead of its own: a check judges one exercise, not again the exercises it calls."""
    for name in names:  # one not done yet fails here; in both answers alike, it would make them agree
        getattr(lesson, name)(*PROBES[name])
    functions = {name: getattr(lesson, name) for name in names} | functions
    saved = {name: getattr(reference, name) for name in functions}
    try:
        for name, function in functions.items():
            setattr(reference, name, function)
        yield reference
    finally:
        for name, function in saved.items():
            setattr(reference, name, function)


def learner_words(lesson, texts: list[str]) -> list[list[str]]:
    """The words of each review as the learner's own clean_review gives them: exercise 1.2 is judged on its
    own, not again in the exercises that use it."""
    return [lesson.clean_review(review).split() for review in texts]


# --------------------------------------------------------------------------- 1.1 describe_split


@pytest.mark.exercise("1.1", points=1)
def test_describe_split_on_an_unbalanced_handmade_split(lesson):
    texts = ["Great film.<br /><br />Loved it.<br />Really.", "A brilliant, brave cast.", "Dull.<br />Boring.",
             "Bad.", "Fine."]
    found = lesson.describe_split(reviews_of(texts, [1, 1, 0, 1, 0]))
    expected = {"reviews": 5, "positive": 3, "negative": 2, "with_html_breaks": 2}
    counted = found if isinstance(found, dict) else {}
    labels = which_mistake([counted.get("positive"), counted.get("negative")],
                           {"the labels are swapped: 1 is positive, 0 negative": [2, 3],
                            "every review counted as positive: len() of a mask counts all its entries, "
                            "sum it instead": [5, 0]})
    breaks = which_mistake(counted.get("with_html_breaks"),
                           {"counted every '<br />', not the reviews that have one": 4,
                            "counted the letters 'br' anywhere (as in 'brilliant'), not the '<br />' tag": 3})
    assert found == expected, (f"for 5 reviews, 3 positive, 2 with '<br />': {dict_difference(expected, found)}"
                               f"{labels}{breaks}")


@pytest.mark.exercise("1.1", points=1)
def test_describe_split_counts_the_real_data(lesson, imdb):
    expected = {"train": {"reviews": 25_000, "positive": 12_500, "negative": 12_500, "with_html_breaks": 14_665},
                "test": {"reviews": 25_000, "positive": 12_500, "negative": 12_500, "with_html_breaks": 14_535}}
    for name in expected:
        found = lesson.describe_split(getattr(imdb, name))
        assert found == expected[name], (f"expected {expected[name]} for the {name} split; "
                                         f"{dict_difference(expected[name], found)}")


@pytest.mark.exercise("1.1", points=1)
def test_describe_split_counts_breaks_at_either_end_of_a_review(lesson):
    texts = ["<br />Starts with a break.", "<br />", "Ends with one.<br />", "No break.", "Brilliant, no tag."]
    found = lesson.describe_split(reviews_of(texts, [0, 1, 0, 1, 1]))
    breaks = found.get("with_html_breaks") if isinstance(found, dict) else found
    mistake = which_mistake(breaks, {"missed the reviews that start with '<br />' (find() gives 0 there, not > 0): "
                                     "test '<br />' in text": 1})
    assert breaks == 3, (f"expected with_html_breaks=3 for {texts} (a break first, alone and last), "
                         f"got {breaks!r}{mistake}")


def labelled_reviews() -> st.SearchStrategy[Reviews]:
    """Splits of 0 to 8 reviews, any labels (all positive, all negative, unbalanced), breaks anywhere or nowhere."""
    texts = st.lists(st.lists(st.sampled_from(["<br />", "br", "Brave", " good", ".", " "]), max_size=5).map("".join),
                     max_size=8)
    return texts.flatmap(lambda texts: st.lists(st.integers(0, 1), min_size=len(texts), max_size=len(texts)).map(
        lambda labels: reviews_of(texts, labels, ShownReviews)))


@pytest.mark.exercise("1.1", points=1)
def test_describe_split_on_drawn_splits(lesson, reference):
    check_agrees_with_reference("describe_split", lesson.describe_split, reference.describe_split,
                                st.tuples(labelled_reviews()))


# --------------------------------------------------------------------------- 1.2 clean_review


def _tags(raw: str, pattern: str = r"<[^>]*>", by: str = " ") -> str:
    return re.sub(pattern, by, raw)


def _letters(raw: str) -> str:
    return " ".join(re.sub(r"[^a-z]+", " ", raw).split())


SPACES = "extra spaces were kept: collapse runs of spaces into one and strip both ends"
CLEANING_MISTAKES = [  # (the mistake, what it makes of a review); a mistake may be written several ways
    ("upper-case letters were dropped: lower-case the text before removing non-letters",
     lambda raw: _letters(_tags(raw))),
    ("the HTML tags became words ('br', 'i'): replace every tag, <[^>]*>, by a space before keeping the letters",
     lambda raw: _letters(raw.lower())),
    ("only '<br />' was replaced: the other tags ('<br/>', '<i>') became words; replace every tag, <[^>]*>, "
     "by a space", lambda raw: _letters(raw.replace("<br />", " ").lower())),
    ("words on either side of a tag were glued together: replace each tag by a space",
     lambda raw: _letters(_tags(raw, by="").lower())),
    ("a greedy tag pattern also removed the text between two tags: match one tag with <[^>]*>",
     lambda raw: _letters(_tags(raw, r"<.*>").lower())),
    ("punctuation was deleted, not replaced by a space (\"it's\" became \"its\")",
     lambda raw: " ".join(re.sub(r"[^a-z\s]", "", _tags(raw).lower()).split())),
    (SPACES, lambda raw: re.sub(r"[^a-z]+", " ", _tags(raw).lower())),
    (SPACES, lambda raw: re.sub(r"[^a-z]", " ", _tags(raw).lower())),
    ("letters outside a-z were kept (\"café\"): str.isalpha() is true of every alphabet's letters; replace "
     "all but a-z", lambda raw: " ".join("".join(c if c.isalpha() else " " for c in _tags(raw).lower()).split())),
    ("a tag with attributes was kept (<a href=...>): match any tag, <[^>]*>",
     lambda raw: _letters(_tags(raw, r"</?\w+\s*/?>").lower())),
]


@pytest.mark.exercise("1.2", points=1)
@pytest.mark.parametrize("raw, clean", [
    ("Great!<br /><br />10/10", "great"),
    ("It's <i>SO</i> good...  really", "it s so good really"),
    ("Line one.<br/>Line two.", "line one line two"),
    ("The end<br />Credits roll", "the end credits roll"),
    ("  Spaced\tout -- and about! ", "spaced out and about"),
])
def test_clean_review(lesson, raw, clean):
    found = lesson.clean_review(raw)
    mistake = which_of(found, [(name, make(raw)) for name, make in CLEANING_MISTAKES])
    assert found == clean, f"expected clean_review({raw!r}) == {clean!r}, got {found!r}{mistake}"


@pytest.mark.exercise("1.2", points=1)
@pytest.mark.parametrize("raw, clean", [
    ("", ""),
    ("10/10 !!! :-)", ""),
    ("<br />Tags first and last<br />", "tags first and last"),
    ('See <a href="https://www.imdb.com/title/tt01">this</a>.', "see this"),
    ("<BR>LOUD<BR/>", "loud"),
    ("Café crème", "caf cr me"),
    ("tab\tnew\nline\r\nend", "tab new line end"),
    ("Fine.<br />Really <i>fine</i>", "fine really fine"),
], ids=["empty", "no letters", "tags at both ends", "a tag with attributes", "upper-case tags",
        "letters outside a-z", "tabs and line breaks", "a line break and another tag"])
def test_clean_review_on_its_edges(lesson, raw, clean):
    found = lesson.clean_review(raw)
    mistake = which_of(found, [(name, make(raw)) for name, make in CLEANING_MISTAKES])
    assert found == clean, f"expected clean_review({raw!r}) == {clean!r}, got {found!r}{mistake}"


@pytest.mark.exercise("1.2", points=1)
def test_clean_review_on_drawn_reviews(lesson, reference):
    check_agrees_with_reference("clean_review", lesson.clean_review, reference.clean_review, st.tuples(raw_reviews()))


@pytest.mark.exercise("1.2", points=1)
def test_cleaning_removes_every_html_break(lesson, small_imdb):
    cleaned = [lesson.clean_review(t) for t in small_imdb.train.texts]
    left = [c for c in cleaned if "br" in c.split() or "<" in c]
    assert not left, (f"expected no '<br />' (or the word 'br') after cleaning, found it in {len(left)} of 2,000 "
                      f"reviews, e.g. {left[0][:80]!r}")


# --------------------------------------------------------------------------- 1.3 review_lengths


@pytest.mark.exercise("1.3", points=1)
def test_review_lengths(lesson, small_imdb):
    texts = small_imdb.test.texts[:50]
    found = lesson.review_lengths(texts)
    expected = np.array([len(words) for words in learner_words(lesson, texts)])
    assert isinstance(found, np.ndarray) and found.shape == (50,), (
        f"expected an int NumPy array of shape (50,), got a {type(found).__name__}"
        + (f" of shape {found.shape}" if isinstance(found, np.ndarray) else ""))
    mistake = which_of(found, [("counted characters, not words", [len(lesson.clean_review(t)) for t in texts]),
                               ("counted characters, not words", [len(t) for t in texts]),
                               ("split the raw text: clean each review first", [len(t.split()) for t in texts])])
    assert np.array_equal(found, expected), (
        f"expected lengths {expected[:5].tolist()}..., got {found[:5].tolist()}...{mistake}")
    assert found.dtype.kind in "iu", f"expected whole numbers as an int array, got {found.dtype}"


@pytest.mark.exercise("1.3", points=1)
def test_review_lengths_of_reviews_without_words(lesson):
    texts = ["", "!!! 10/10", "<br /><br />", "One.", "two words"]
    found = lesson.review_lengths(texts)
    expected = [len(words) for words in learner_words(lesson, texts)]
    mistake = which_of(found, [("a review without words counted as one word: str.split(\" \") gives [\"\"] for an "
                                "empty text, str.split() gives []", [len(t.split(" ")) for t in
                                                                     (lesson.clean_review(t) for t in texts)])])
    assert np.array_equal(np.asarray(found), expected), (
        f"expected {expected} words for {texts}, got {np.asarray(found).tolist()}{mistake}")


@pytest.mark.exercise("1.3", points=1)
def test_review_lengths_of_no_reviews(lesson):
    found = lesson.review_lengths([])
    kind = f"a {found.dtype} array of shape {found.shape}" if isinstance(found, np.ndarray) else type(found).__name__
    assert isinstance(found, np.ndarray) and found.shape == (0,) and found.dtype.kind in "iu", (
        f"expected an empty int array for no reviews, got {kind}"
        + (" — np.array([]) is a float array: ask for dtype=int" if kind.startswith("a float") else ""))


def int64(lengths):
    """Int lengths of any width as int64: the statement asks for an int array, not for a width."""
    return lengths.astype(np.int64) if isinstance(lengths, np.ndarray) and lengths.dtype.kind in "iu" else lengths


@pytest.mark.exercise("1.3", points=1)
def test_review_lengths_on_drawn_reviews(lesson, reference):
    with reference_calling(reference, lesson, "clean_review"):
        check_agrees_with_reference("review_lengths", lambda texts: int64(lesson.review_lengths(texts)),
                                    reference.review_lengths, st.tuples(st.lists(raw_reviews(), max_size=6)))


# --------------------------------------------------------------------------- 1.4 build_vocabulary


def reference_vocabulary(words: list[list[str]], max_words: int, min_count: int) -> dict[str, int]:
    """The recipe of exercise 1.4 on reviews split into ``words``."""
    counts = Counter(word for review in words for word in review)
    frequent = [word for word, count in counts.most_common(max_words) if count >= min_count]
    return {"<PAD>": 0, "<UNK>": 1} | {word: i for i, word in enumerate(frequent, start=2)}


def vocabulary_mistakes(texts: list[str], words: list[list[str]], max_words: int,
                        min_count: int) -> list[tuple[str, dict]]:
    """(known mistake of exercise 1.4, what it builds from ``texts``, whose cleaned words are ``words``) pairs."""
    right = list(reference_vocabulary(words, max_words, min_count))[2:]
    raw = "words counted from the raw text: clean each review (clean_review) before counting"
    return [
        ("words seen exactly min_count times are missing: keep count >= min_count",
         reference_vocabulary(words, max_words, min_count + 1)),
        ("max_words - 2 words: <PAD> and <UNK> come on top of max_words",
         reference_vocabulary(words, max_words - 2, min_count)),
        (raw, reference_vocabulary([t.lower().split() for t in texts], max_words, min_count)),
        (raw, reference_vocabulary([t.split() for t in texts], max_words, min_count)),
        ("ids in alphabetical order, not by frequency",
         {"<PAD>": 0, "<UNK>": 1} | {word: i for i, word in enumerate(sorted(right), start=2)}),
        ("the most frequent word has id 1, the id of <UNK>: words start at 2",
         {"<PAD>": 0, "<UNK>": 1} | {word: i for i, word in enumerate(right, start=1)}),
    ]


def vocabulary_feedback(found, expected: dict, mistakes: list[tuple[str, dict]]) -> str:
    """What differs between two vocabularies, in a line, and the known mistake that explains it."""
    if not isinstance(found, dict):
        return f"expected a dict of word ids, got {type(found).__name__}"
    mistake = which_of(found, mistakes)
    missing = [word for word in expected if word not in found]
    extra = [word for word in found if word not in expected]
    moved = [f"{word}={found[word]} (expected {expected[word]})" for word in expected
             if word in found and found[word] != expected[word]]
    parts = [f"expected {len(expected)} ids, got {len(found)}"]
    parts += [f"missing {missing[:4]}"] * bool(missing) + [f"unexpected {extra[:4]}"] * bool(extra)
    parts += [f"wrong ids: {', '.join(moved[:3])}"] * bool(moved)
    return "; ".join(parts) + mistake


# A tiny corpus: film 6 times, good 5, acting and plot 3 each (acting first), zebra 2, rare once, with the
# case, punctuation and <br /> that cleaning removes.
SMALL_CORPUS = ["Film, film: FILM!<br />Acting good.", "Good film. Plot, acting.<br /><br />Zebra",
                "good GOOD film; plot... zebra", "film (rare) acting plot good"]


@pytest.mark.exercise("1.4", points=1)
@pytest.mark.parametrize("max_words, min_count", [(10, 2), (3, 1)])
def test_vocabulary_of_a_small_corpus(lesson, max_words, min_count):
    found = lesson.build_vocabulary(SMALL_CORPUS, max_words=max_words, min_count=min_count)
    words = learner_words(lesson, SMALL_CORPUS)
    expected = reference_vocabulary(words, max_words, min_count)
    mistakes = vocabulary_mistakes(SMALL_CORPUS, words, max_words, min_count)
    assert found == expected, (f"with max_words={max_words}, min_count={min_count}, "
                               f"{vocabulary_feedback(found, expected, mistakes)}")


@pytest.mark.exercise("1.4", points=1)
def test_vocabulary_respects_min_count(lesson):
    texts = ["good good good bad"] * 2 + ["rare"]
    found = lesson.build_vocabulary(texts, max_words=10, min_count=2)
    expected = {"<PAD>": 0, "<UNK>": 1, "good": 2, "bad": 3}
    mistakes = [("'rare' (seen once) was kept: keep only words seen min_count times or more",
                 expected | {"rare": 4})]
    assert found == expected, (f"with min_count=2, {vocabulary_feedback(found, expected, mistakes)} "
                               f"(expected good=2, bad=3 and no 'rare', got {found})")


@pytest.mark.exercise("1.4", points=1)
def test_vocabulary_matches_the_reference_recipe_on_real_reviews(lesson, small_imdb):
    texts = small_imdb.train.texts
    found = lesson.build_vocabulary(texts, max_words=2_000, min_count=5)
    words = learner_words(lesson, texts)
    expected = reference_vocabulary(words, 2_000, 5)
    assert found == expected, ("with max_words=2000, min_count=5 on 2,000 real reviews, "
                               f"{vocabulary_feedback(found, expected, vocabulary_mistakes(texts, words, 2_000, 5))}")


@pytest.mark.exercise("1.4", points=1)
def test_vocabulary_cut_inside_a_tie_keeps_the_first_seen(lesson):
    texts = ["zebra film", "film zebra acting acting"]  # each word twice: zebra first, then film, then acting
    found = lesson.build_vocabulary(texts, max_words=2, min_count=2)
    expected = {"<PAD>": 0, "<UNK>": 1, "zebra": 2, "film": 3}
    mistakes = [("ties broken alphabetically: words of equal count keep their order of first appearance, as "
                 "Counter.most_common gives them", {"<PAD>": 0, "<UNK>": 1, "acting": 2, "film": 3})]
    assert found == expected, (f"with max_words=2, min_count=2 and three words seen twice each, "
                               f"{vocabulary_feedback(found, expected, mistakes)} (expected {expected}, got {found})")


@pytest.mark.exercise("1.4", points=1)
def test_vocabulary_on_drawn_corpora(lesson, reference):
    corpora = st.tuples(st.lists(word_reviews(), max_size=6), st.integers(0, 8), st.integers(0, 5))
    with reference_calling(reference, lesson, "clean_review"):
        check_agrees_with_reference("build_vocabulary", lesson.build_vocabulary, reference.build_vocabulary, corpora)


# --------------------------------------------------------------------------- 1.5 vectorize_splits


def mistaken_ids(words: list[list[str]], vocabulary: dict[str, int], length: int, *, unknown: int | None = 1,
                 tail: bool = False, pre: bool = False, cut_first: bool = True) -> np.ndarray:
    """The ids of reviews split into ``words`` as a known mistake of exercise 1.5 encodes them, the keywords
    naming the mistake (``unknown=None`` drops the unknown words, after or before cutting to ``length`` words)."""
    ids = np.zeros((len(words), length), dtype=np.int32)
    for row, found in enumerate(words):
        if cut_first:
            found = found[-length:] if tail else found[:length]
        found = [i for i in (vocabulary.get(word, unknown) for word in found) if i is not None][:length]
        if found and pre:
            ids[row, length - len(found):] = found
        elif found:
            ids[row, :len(found)] = found
    return ids


def ids_feedback(name: str, found, words: list[list[str]], vocabulary: dict, length: int) -> str:
    """" — <mistake>" when a known mistake of exercise 1.5 encodes the reviews as ``found``."""
    def mistake(**how):
        return mistaken_ids(words, vocabulary, length, **how)
    dropped = "unknown words were dropped: each becomes <UNK> (1)"
    return which_of(found, [
        (f"the {name} ids are all zeros: encode the {name} reviews too", np.zeros((len(words), length))),
        ("padded at the start: put the word ids first and the <PAD> zeros at the end", mistake(pre=True)),
        ("kept the last words of long reviews: keep the first `length` words", mistake(tail=True)),
        (dropped, mistake(unknown=None)),
        (dropped, mistake(unknown=None, cut_first=False)),
        ("unknown words became <PAD> (0): each becomes <UNK> (1)", mistake(unknown=0)),
    ])


def reference_ids(reference, lesson, imdb: Imdb, vocabulary: dict, length: int) -> tuple[np.ndarray, np.ndarray]:
    """The reference's train and test ids of ``imdb``, from the learner's own clean_review and the vocabulary the
    learner's vectorize_splits returned: the ids are judged apart from the vocabulary, which other checks judge."""
    with reference_calling(reference, lesson, "clean_review", build_vocabulary=lambda *args, **kwargs: vocabulary):
        _, train_ids, test_ids = reference.vectorize_splits(imdb, length=length)
    return train_ids, test_ids


def check_ids(name: str, found, expected: np.ndarray, words: list[list[str]], vocabulary: dict, length: int) -> None:
    """Fail, saying why, unless ``found`` is ``expected``, the int32 encoding of the reviews split into ``words``."""
    assert isinstance(found, np.ndarray) and found.shape == expected.shape, (
        f"expected {name} ids of shape {expected.shape}, got "
        f"{found.shape if isinstance(found, np.ndarray) else type(found).__name__}")
    if not np.array_equal(found, expected):
        row = int(np.argmax(np.any(found != expected, axis=1)))
        why = ids_feedback(name, found, words, vocabulary, length) or (
            f"; {name} review {row} should be {expected[row, :12].tolist()}..., got {found[row, :12].tolist()}...")
        raise AssertionError(f"expected the {name} ids to be the first {length} word ids of each review, "
                             f"<UNK> = 1, padded with 0 at the end{why}")
    assert found.dtype == np.int32, f"expected int32 ids, got {found.dtype}: ask np.zeros for dtype=np.int32"


TINY = Imdb(reviews_of(["Good film, good cast.", "A bad film.<br />Bad, bad, bad!",
                        "Good fun: a good, good film, a good one", "film"]),
            reviews_of(["Good zebra film.", "An awful, bad film with a good cast and a bad end", ""]))


@pytest.mark.exercise("1.5", points=1)
def test_sequences_of_a_tiny_imdb(lesson, reference):
    vocabulary, train_ids, test_ids = lesson.vectorize_splits(TINY, max_words=10, min_count=2, length=6)
    expected = reference_ids(reference, lesson, TINY, vocabulary, 6)
    for name, found, right, split in zip(("train", "test"), (train_ids, test_ids), expected, (TINY.train, TINY.test)):
        check_ids(name, found, right, learner_words(lesson, split.texts), vocabulary, 6)


@pytest.mark.exercise("1.5", points=2)
def test_vocabulary_comes_from_the_training_split_only(lesson):
    train = reviews_of(["a fine film indeed"] * 6)
    test = reviews_of(["zebra zebra zebra zebra zebra zebra film"] * 6)
    vocabulary, _, test_ids = lesson.vectorize_splits(Imdb(train, test), min_count=5, length=8)
    assert "zebra" not in vocabulary, (
        "expected no 'zebra', seen only in test reviews, in the vocabulary — the vocabulary includes words seen "
        "only in the test split: build it from imdb.train only")
    expected = [1] * 6 + [vocabulary.get("film"), 0]
    assert test_ids[0].tolist() == expected, (
        f"expected the test review 'zebra x6 film' as {expected} (unseen words are <UNK> = 1), "
        f"got {test_ids[0].tolist()}")


@pytest.mark.exercise("1.5", points=1)
def test_sequences_on_the_length_edges(lesson, reference):
    train = reviews_of(["good film bad", "good film bad film", "", "good"])  # length 3: 3 words, 4, none, 1
    imdb = Imdb(train, reviews_of(["zebra zebra zebra zebra", "film"]))
    vocabulary, train_ids, test_ids = lesson.vectorize_splits(imdb, max_words=10, min_count=1, length=3)
    expected = reference_ids(reference, lesson, imdb, vocabulary, 3)
    for name, found, right, split in zip(("train", "test"), (train_ids, test_ids), expected, (imdb.train, imdb.test)):
        check_ids(name, found, right, learner_words(lesson, split.texts), vocabulary, 3)


@pytest.mark.exercise("1.5", points=1)
def test_sequences_on_drawn_imdbs(lesson, reference):
    def split(size: int) -> st.SearchStrategy[Reviews]:
        texts = st.lists(word_reviews(), min_size=1, max_size=size)
        return texts.map(lambda texts: reviews_of(texts, kind=ShownReviews))

    imdbs = st.builds(ShownImdb, split(5), split(4))
    cases = st.tuples(imdbs, st.integers(0, 8), st.integers(0, 4), st.integers(1, 8))
    with reference_calling(reference, lesson, "clean_review", "build_vocabulary"):
        check_agrees_with_reference("vectorize_splits", lesson.vectorize_splits, reference.vectorize_splits, cases)


def split_vocabulary_mistake(lesson, vocabulary: dict, imdb: Imdb) -> str:
    """" — <mistake>" when a known mistake of exercise 1.5 builds ``vocabulary`` (max_words=3000, min_count=5)."""
    train = imdb.train.texts
    return which_mistake(vocabulary, {
        "the vocabulary includes words seen only in the test split: build it from imdb.train only":
            lesson.build_vocabulary(train + imdb.test.texts, max_words=3_000, min_count=5),
        "max_words and min_count were not passed on to build_vocabulary": lesson.build_vocabulary(train)})


@pytest.mark.exercise("1.5", points=2)
def test_sequences_of_real_reviews(lesson, reference, small_imdb):
    vocabulary, train_ids, test_ids = lesson.vectorize_splits(small_imdb, max_words=3_000, min_count=5, length=64)
    train = small_imdb.train.texts
    expected = lesson.build_vocabulary(train, max_words=3_000, min_count=5)
    assert vocabulary == expected, (
        f"expected the vocabulary build_vocabulary(train texts, max_words=3000, min_count=5), {len(expected)} ids, "
        f"got {len(vocabulary)} ids{split_vocabulary_mistake(lesson, vocabulary, small_imdb)}")
    expected_train, expected_test = reference_ids(reference, lesson, small_imdb, vocabulary, 64)
    check_ids("train", train_ids, expected_train, learner_words(lesson, train), vocabulary, 64)
    check_ids("test", test_ids, expected_test, learner_words(lesson, small_imdb.test.texts), vocabulary, 64)


# --------------------------------------------------------------------------- 1.6 movie_split


def movies_reviews(movies: int = 60, seed: int = 0) -> Reviews:
    """Reviews of ``movies`` movies, 1 to 12 each, positive and negative mixed within a movie."""
    rng = np.random.default_rng(seed)
    names = np.repeat([f"tt{m:07d}" for m in range(movies)], rng.integers(1, 13, size=movies))
    labels = rng.integers(0, 2, size=len(names))
    return Reviews([f"review {i}" for i in range(len(names))], labels, np.where(labels == 1, 8, 2), names)


def split_rows(lesson, reviews: Reviews, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    train_rows, validation_rows = (np.asarray(rows) for rows in lesson.movie_split(reviews, fraction, seed))
    every = np.sort(np.concatenate([train_rows, validation_rows]))
    assert np.array_equal(every, np.arange(len(reviews))), (
        f"expected the two parts to hold every one of the {len(reviews)} rows once, got {len(train_rows)} + "
        f"{len(validation_rows)} rows with {len(every) - len(np.unique(every))} repeated")
    return train_rows, validation_rows


@pytest.mark.exercise("1.6", points=2)
def test_movie_split_keeps_movies_apart_on_the_real_training_split(lesson, imdb):
    assert imdb.train.movies is not None, (
        "expected the IMDB data to name each review's movie, but this copy does not (see the warning when it "
        "loads): point IMDB_DATA_DIR to the official archive or the course's jsonl copy")
    train_rows, validation_rows = split_rows(lesson, imdb.train, 0.1, 0)
    shared = set(imdb.train.movies[train_rows]) & set(imdb.train.movies[validation_rows])
    assert not shared, (f"expected no movie on both sides, found {len(shared)} — reviews of the same movie on both "
                        f"sides: split by movie (groups=reviews.movies), not review by review")
    share = len(validation_rows) / len(imdb.train)
    hint = " — the two parts are swapped: return (training rows, validation rows)" if share > 0.5 else ""
    assert 0.08 <= share <= 0.12, f"expected about 10% of the reviews for validation, got {share:.1%}{hint}"
    positive = imdb.train.labels[validation_rows].mean()
    assert 0.47 <= positive <= 0.53, (
        f"expected the validation labels balanced like the split's (50% positive), got {positive:.1%} — "
        f"stratify by label (StratifiedGroupKFold)")


@pytest.mark.exercise("1.6", points=1)
def test_movie_split_follows_fraction_and_seed(lesson):
    reviews = movies_reviews()
    train_rows, validation_rows = split_rows(lesson, reviews, 0.2, 0)
    share = len(validation_rows) / len(reviews)
    assert 0.12 <= share <= 0.28, f"expected about 20% of the reviews for fraction=0.2, got {share:.1%}" + (
        " — the fraction argument is not used" if 0.05 <= share <= 0.12 else "")
    again = split_rows(lesson, reviews, 0.2, 0)[1]
    assert np.array_equal(np.sort(again), np.sort(validation_rows)), "expected the same split again for the same seed"
    others = [np.sort(split_rows(lesson, reviews, 0.2, seed)[1]) for seed in (1, 2, 3)]
    assert not all(np.array_equal(other, np.sort(validation_rows)) for other in others), (
        "expected other seeds to give other splits — the seed is not used: shuffle=True, random_state=seed")


@pytest.mark.exercise("1.6", points=1)
def test_movie_split_holds_out_half_for_a_fraction_of_one_half(lesson):
    reviews = movies_reviews(seed=1)
    train_rows, validation_rows = split_rows(lesson, reviews, 0.5, 0)
    shared = set(reviews.movies[train_rows]) & set(reviews.movies[validation_rows])
    share = len(validation_rows) / len(reviews)
    assert not shared and 0.3 <= share <= 0.7, (
        f"expected about half the reviews for validation with fraction=0.5 (two folds), and no movie on both "
        f"sides, got {share:.1%} and {len(shared)} movies on both sides")


def split_problem(lesson, reviews: Reviews, fraction: float, seed: int) -> str:
    """What the lesson's split of ``reviews`` breaks of exercise 1.6's promises, or "" if nothing."""
    parts = [np.asarray(rows) for rows in lesson.movie_split(reviews, fraction, seed)]
    every = np.sort(np.concatenate(parts))
    if not np.array_equal(every, np.arange(len(reviews))):
        return f"to give each row once, in one part or the other, got {parts[0].tolist()} and {parts[1].tolist()}"
    if not all(len(part) for part in parts):
        return (f"to give each part reviews ({len(set(reviews.movies))} movies, one fold in {round(1 / fraction)} "
                f"to validation), got {len(parts[0])} training and {len(parts[1])} validation rows")
    if shared := sorted(map(str, set(reviews.movies[parts[0]]) & set(reviews.movies[parts[1]]))):
        return (f"to keep each movie on one side, got {shared[:3]} on both — reviews of the same movie on both "
                "sides: split by movie (groups=reviews.movies)")
    again = [np.sort(np.asarray(rows)) for rows in lesson.movie_split(reviews, fraction, seed)]
    if not all(np.array_equal(a, np.sort(b)) for a, b in zip(again, parts)):
        return ("to give the same split again for the same seed, got another — "
                "the split is not seeded: random_state=seed")
    return ""


@st.composite
def movie_cases(draw) -> tuple[Reviews, float, int]:
    """(reviews, fraction, seed): k = round(1 / fraction) folds, k movies or more of 1 to 4 reviews each, in any
    order, and a label with k reviews or more (StratifiedGroupKFold needs both)."""
    fraction = draw(st.sampled_from([0.5, 0.25, 0.1]) | st.floats(0.05, 0.5))
    folds = round(1 / fraction)
    sizes = draw(st.lists(st.integers(1, 4), min_size=folds, max_size=folds + 5))
    movies = draw(st.permutations([f"tt{movie}" for movie, size in enumerate(sizes) for _ in range(size)]))
    labels = draw(st.lists(st.integers(0, 1), min_size=len(movies), max_size=len(movies))
                  .filter(lambda labels: max(labels.count(0), labels.count(1)) >= folds))
    labels = np.array(labels)
    reviews = MoviesReviews([f"review {i}" for i in range(len(movies))], labels, np.where(labels == 1, 8, 2),
                            np.array(movies))
    return reviews, fraction, draw(st.integers(0, 2**32 - 1))


@pytest.mark.exercise("1.6", points=1)
def test_movie_split_keeps_movies_apart_on_drawn_splits(lesson):
    check_holds("movie_split", lambda *case: split_problem(lesson, *case), movie_cases(), examples=150)
