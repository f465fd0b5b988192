"""Whole numbers read from user input (ids in forms, query parameters, headers): ASCII digits only.

``str.isdigit()`` is true for "²" and "١", and ``int()`` reads "١٢", " 12", "+12" and "1_2": a check
with one and a conversion with the other turns a crafted value into a 500 or into a match nobody
typed. Here a value is a number only when it is plain ASCII digits; anything else is None, which
the caller answers with a 400, a form error or a 404."""

BIGINT_DIGITS = 18  # any 18-digit number fits a signed 64-bit id column


def ascii_int(value: object, *, max_digits: int = BIGINT_DIGITS) -> int | None:
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= max_digits:
        return int(value)
    return None
