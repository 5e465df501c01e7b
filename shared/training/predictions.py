"""A model's predictions printed for a learner to read: one line a text, its label, the confidence and the text,
aligned in columns."""

from __future__ import annotations


def print_predictions(texts: list[str], predictions: list[tuple[str, float | None]]) -> None:
    """One line per text: the predicted label, its confidence, the text (a blank confidence for a text the model
    cannot read)."""
    for text, (label, confidence) in zip(texts, predictions):
        print(f"{label:10s} {'' if confidence is None else format(confidence, '6.1%'):>6s}  {text}")
