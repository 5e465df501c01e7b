"""Text cleaning shared by every track."""

import re

_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]{0,40}>")


def clean_html(text: str) -> str:
    """Turn the ``<br />`` line breaks of IMDB reviews into spaces and drop any other HTML tag."""
    return " ".join(_TAG.sub(" ", _BREAK.sub(" ", text)).split())
