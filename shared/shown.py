"""How an error message quotes a value: the start of its repr, never a whole review, list or array."""


def shown(value: object, width: int = 60) -> str:
    """``repr(value)``, cut to ``width`` characters with "..." when longer."""
    text = repr(value)
    return text if len(text) <= width else f"{text[: width - 3]}..."
