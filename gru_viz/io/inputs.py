"""Typed and uploaded input sequences: text through a vocabulary, numeric rows, CSV and NPY.

Every parse error is an InputError that says where (row, column, symbol) and what.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from gru_viz.core.errors import InputError


@dataclass(frozen=True)
class Vocabulary:
    """Symbols in id order; id i is one-hot row i."""

    symbols: tuple[str, ...]

    def __post_init__(self) -> None:
        symbols = tuple(self.symbols)
        object.__setattr__(self, "symbols", symbols)
        dupes = sorted(s for s, n in Counter(symbols).items() if n > 1)
        if dupes:
            raise InputError(f"The vocabulary lists these symbols twice: {dupes}.")
        object.__setattr__(self, "_index", {s: i for i, s in enumerate(symbols)})

    def __len__(self) -> int:
        return len(self.symbols)

    @classmethod
    def from_text(cls, text: str) -> Vocabulary:
        """Every distinct character of ``text``, sorted."""
        return cls(tuple(sorted(set(text))))

    def encode(self, text: str | Sequence[str]) -> np.ndarray:
        """Characters (or a list of symbols) to ids (T,); unknown symbols raise, all listed."""
        index: dict[str, int] = self._index  # type: ignore[attr-defined]
        unknown = [(t, s) for t, s in enumerate(text) if s not in index]
        if unknown:
            shown = ", ".join(f"{s!r} at position {t}" for t, s in unknown[:10])
            more = f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
            known = "".join(self.symbols) if all(len(s) == 1 for s in self.symbols) \
                else " ".join(self.symbols)
            raise InputError(f"Not in the vocabulary: {shown}{more}. Known symbols: {known!r}.")
        return np.array([index[s] for s in text], dtype=np.int64)

    def decode(self, ids: Iterable[int]) -> list[str]:
        return [self.symbols[int(i)] for i in ids]

    def one_hot(self, ids: np.ndarray, dtype: type = np.float64) -> np.ndarray:
        """ids (T,) -> (T, V)."""
        return one_hot(ids, len(self), dtype)


def one_hot(ids: np.ndarray, size: int, dtype: type = np.float64) -> np.ndarray:
    """ids (T,) -> (T, size) with a 1 at each id."""
    ids = np.asarray(ids)
    bad = ids[(ids < 0) | (ids >= size)]
    if bad.size:
        raise InputError(f"Ids out of range 0..{size - 1}: {sorted(set(bad.tolist()))[:10]}.")
    out = np.zeros((ids.size, size), dtype)
    out[np.arange(ids.size), ids] = 1
    return out


def symbol_inputs(ids: np.ndarray, width: int, embedding: np.ndarray | None = None,
                  dtype: type = np.float64) -> np.ndarray:
    """ids (T,) -> what a GRU reads: rows of its embedding, else one-hot rows of ``width``."""
    return np.asarray(embedding)[ids] if embedding is not None else one_hot(ids, width, dtype)


def read_typed(text: str, input_size: int, vocabulary: Vocabulary | None = None,
               embedding: np.ndarray | None = None) -> tuple[np.ndarray, list[str] | None]:
    """Typed text -> the GRU's input (T, I) and the symbols read. Through ``vocabulary`` when
    there is one (embedding rows, else one-hot rows of the vocabulary's size); with an
    embedding but no vocabulary, token ids ("3 1 4", symbols their numbers); else numbers,
    one step per row (symbols None)."""
    if vocabulary is None and embedding is not None:
        ids = parse_ids(text, len(embedding))
        return symbol_inputs(ids, len(embedding), embedding), [str(i) for i in ids]
    if vocabulary is None:
        return parse_rows(text, input_size), None
    ids = vocabulary.encode(text)
    return symbol_inputs(ids, len(vocabulary), embedding), vocabulary.decode(ids)


def parse_ids(text: str, vocab_size: int) -> np.ndarray:
    """Token ids typed as ``3 1 4`` or ``3, 1, 4`` -> (T,), each checked against the size."""
    ids = []
    for k, tok in enumerate(text.replace(",", " ").split()):
        try:
            ids.append(int(tok))
        except ValueError:
            raise InputError(f"Token {k + 1} is {tok!r}: ids are whole numbers.") from None
        if not 0 <= ids[-1] < vocab_size:
            raise InputError(f"Token {k + 1} is {ids[-1]}: ids go from 0 to {vocab_size - 1}.")
    return np.array(ids, dtype=np.int64)


MAX_PROBLEMS = 10  # problems listed one by one; beyond, a count


def _typed(row: str, most: int = 30) -> str:
    """A row as the user typed it, quoted (long rows shortened)."""
    row = row.strip()
    return repr(row if len(row) <= most else row[:most - 1] + "…")


def split_rows(text: str) -> list[str]:
    """The rows of typed text as the user typed them: split at ``;`` and at new lines. A ``;``
    that ends a line, and blank lines before the first row or after the last, make no row;
    any other empty row stays (it is a problem to report, not a step to drop)."""
    rows = []
    for line in text.replace("\r\n", "\n").split("\n"):
        parts = line.split(";")
        if len(parts) > 1 and not parts[-1].strip():
            parts = parts[:-1]  # "1, 2;" at the end of a line
        rows.extend(parts)
    while rows and not rows[-1].strip():
        rows.pop()
    first = next((k for k, r in enumerate(rows) if r.strip()), len(rows))
    return rows[first:]


def parse_rows(text: str, width: int | None = None) -> np.ndarray:
    """Numbers typed as rows, one timestep each: ``0.5, 1; 0, 1; 1, -1`` -> (T, I).

    Rows are separated by ``;`` or new lines, numbers by ``,`` or spaces. With ``width`` given,
    every row must have that many numbers (the model's input size). An empty row between two
    rows (``1;;2``) is an error, not a step silently dropped. Every problem is reported, each
    with its row number counted as typed and the row's text.
    """
    rows = split_rows(text)
    out: list[list[float]] = []
    problems: list[str] = []
    expected = width
    for k, row in enumerate(rows, start=1):
        if not row.strip():
            problems.append(f"Row {k} is empty: type its numbers or remove the extra "
                            f"separator.")
            continue
        values, bad = [], False
        for j, tok in enumerate(row.replace(",", " ").split(), start=1):
            try:
                v = float(tok)
            except ValueError:
                problems.append(f"Row {k} {_typed(row)}, value {j}: {tok!r} is not a number.")
                bad = True
                continue
            if not np.isfinite(v):
                problems.append(f"Row {k} {_typed(row)}, value {j}: {tok!r} is not finite.")
                bad = True
                continue
            values.append(v)
        if bad:
            continue
        if expected is None:
            expected, first = len(values), k
        if len(values) != expected:
            problems.append(f"Row {k} {_typed(row)} has {len(values)} value(s), expected "
                            f"{expected}" + (" (the model's input size)." if width is not None
                                             else f" like row {first}."))
            continue
        out.append(values)
    if problems:
        shown = problems[:MAX_PROBLEMS]
        more = len(problems) - len(shown)
        head = "" if len(problems) == 1 else f"{len(problems)} problems in the input: "
        raise InputError(head + " ".join(shown) + (f" … and {more} more." if more else ""))
    return np.array(out, dtype=np.float64).reshape(len(out), width or (len(out[0]) if out else 0))


def first_rows(text: str, most: int) -> tuple[str, bool]:
    """The first ``most`` non-empty rows of ``text`` (split as parse_rows splits them) and
    whether more followed: bounds the parsing of a huge paste to the steps that will run."""
    rest, kept = text.replace("\n", ";"), []
    while len(kept) < most and rest:
        pieces = rest.split(";", most - len(kept))  # C-speed, at most most - len(kept) + 1
        rest = pieces.pop() if len(pieces) > most - len(kept) else ""
        kept.extend(p for p in pieces if p.strip())
    if not rest.strip(" ;\t\r"):
        rest = ""
    return ";".join(kept[:most]), bool(rest) or len(kept) > most


def format_rows(x: np.ndarray) -> str:
    """The inverse of parse_rows, for putting a sequence back in a text box."""
    return "; ".join(", ".join(f"{v:g}" for v in row) for row in np.asarray(x))


def read_csv(data: bytes, width: int | None = None) -> np.ndarray:
    """A CSV file of numbers, one timestep a row (a header line is skipped) -> (T, I)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"The CSV file is not UTF-8 text (byte {exc.start}).") from None
    lines = text.splitlines()
    if lines and any(c.isalpha() and c not in "eE" for c in lines[0]) \
            and not lines[0].strip().lower().startswith(("nan", "inf")):
        lines = lines[1:]  # header
    return parse_rows("\n".join(lines), width)


def read_npy(data: bytes, width: int | None = None) -> np.ndarray:
    """A ``.npy`` array of shape (T, I) or (T,) (one feature); object arrays are refused."""
    if not data.startswith(b"\x93NUMPY"):
        raise InputError("This is not a .npy file (it lacks the NumPy signature); "
                         "save arrays with numpy.save.")
    try:
        x = np.load(io.BytesIO(data), allow_pickle=False)
    except ValueError as exc:
        if "pickle" in str(exc):
            raise InputError("The .npy file holds Python objects, which cannot be read safely; "
                             "save a numeric array.") from None
        raise InputError(f"This is not a readable .npy file: {exc}.") from None
    except Exception as exc:  # truncated or corrupt
        raise InputError(f"This is not a readable .npy file ({type(exc).__name__}: {exc}).") \
            from None
    return _npy_rows(x, width)


def _npy_rows(x, width: int | None) -> np.ndarray:
    """A loaded .npy array as float64 rows (T, I), checked."""
    if not isinstance(x, np.ndarray):
        raise InputError("Expected a single array in the .npy file.")
    if not (np.issubdtype(x.dtype, np.integer) or np.issubdtype(x.dtype, np.floating)
            or x.dtype == bool):
        raise InputError(f"The .npy array holds {x.dtype}, expected real numbers.")
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2:
        raise InputError(f"The .npy array has shape {x.shape}; expected (T, I) or (T,).")
    if width is not None and x.shape[1] != width:
        raise InputError(f"The .npy array has {x.shape[1]} columns; the model takes {width}.")
    x = x.astype(np.float64)
    if not np.isfinite(x).all():
        t, j = np.argwhere(~np.isfinite(x))[0]
        raise InputError(f"The .npy array holds NaN or inf (first at row {t + 1}, column {j + 1}).")
    return x
