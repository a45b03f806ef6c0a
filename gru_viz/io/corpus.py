"""A corpus on disk as one token space that is read in slices, never held whole.

Sources: UTF-8 text files (encoded once through the model's vocabulary into a cache file of
int32 ids), and ``.npy`` files (read in place): token ids (T,) or (N, T) for a model that reads
symbols, vectors (T, I) or (N, T, I) for one that reads numbers. Every source's tokens sit one
after another in a global token space; a document is a range of it. ``split`` says where
documents end:

- ``file`` (default): each text file is one document, newlines included as tokens like any
  other; each row of an (N, T[, I]) array is one document.
- ``line``: each line of a text file is a document (the newline is not fed).
- ``none``: the whole corpus is one document, the state carried from file to file.

Reads are ``numpy.fromfile`` slices (no memory map), so memory stays flat in corpus size.
"""

from __future__ import annotations

import bisect
import codecs
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gru_viz.core.errors import InputError
from gru_viz.io.arrays import npy_header
from gru_viz.io.inputs import Vocabulary

SPLITS = ("file", "line", "none")
TEXT_BLOCK = 1 << 20  # characters decoded and encoded at a time
TEXT_SUFFIXES = ("", ".txt", ".py", ".md", ".c", ".h", ".js", ".json", ".csv", ".tex", ".rst")


@dataclass(frozen=True)
class TokenFile:
    """A flat array of ``rows`` rows of ``width`` values (0 for ids) in a raw file at ``offset``."""

    path: str
    dtype: str
    offset: int
    rows: int
    width: int  # 0: one id per row

    def read(self, start: int, stop: int) -> np.ndarray:
        stop = min(stop, self.rows)
        if stop <= start:
            shape = (0,) if self.width == 0 else (0, self.width)
            return np.zeros(shape, np.dtype(self.dtype))
        per = max(self.width, 1)
        item = np.dtype(self.dtype).itemsize
        a = np.fromfile(self.path, self.dtype, (stop - start) * per,
                        offset=self.offset + start * per * item)
        return a if self.width == 0 else a.reshape(-1, self.width)


@dataclass(frozen=True)
class Corpus:
    """Sources in one token space and the documents (ranges of it) they hold.

    kind        "ids" (symbols: one int per token) or "vectors" ((I,) floats per token)
    bases[i]    where source i starts in the token space; files[i] its tokens
    doc_start, doc_stop  (N,) int64 ranges; doc_source and doc_label (line or row number)
    skipped     characters not in the vocabulary, left out of the token space
    """

    paths: tuple[str, ...]
    kind: str
    files: tuple[TokenFile, ...]
    bases: tuple[int, ...]
    doc_start: np.ndarray
    doc_stop: np.ndarray
    doc_source: np.ndarray
    doc_label: np.ndarray
    split: str
    skipped: int
    fingerprint: str  # names, sizes and times of the sources, with the split

    @property
    def tokens(self) -> int:
        return int((self.doc_stop - self.doc_start).sum())

    @property
    def documents(self) -> int:
        return len(self.doc_start)

    def read(self, start: int, stop: int) -> np.ndarray:
        """Tokens [start, stop) of the global token space (ids (n,) or vectors (n, I))."""
        parts = []
        i = max(bisect.bisect_right(self.bases, start) - 1, 0)
        while start < stop and i < len(self.files):
            base, f = self.bases[i], self.files[i]
            lo, hi = start - base, min(stop - base, f.rows)
            if hi > lo:
                parts.append(f.read(lo, hi))
            start = base + max(hi, lo)
            i += 1
        if len(parts) == 1:
            return parts[0]
        if not parts:
            return self.files[0].read(0, 0)
        return np.concatenate(parts)

    def name(self, doc: int) -> str:
        path = Path(self.paths[int(self.doc_source[doc])]).name
        if self.split == "none":
            return "the whole corpus"
        label = int(self.doc_label[doc])
        if self.split == "line" and self.files[int(self.doc_source[doc])].width == 0 \
                and not path.endswith(".npy"):
            return f"{path}:{label + 1}"
        return f"{path}[{label}]" if label >= 0 else path


def corpus_files(paths: list[str | os.PathLike] | str | os.PathLike) -> list[Path]:
    """Files named, and the files inside folders named (sorted, recursively; hidden skipped)."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(f for f in p.rglob("*") if f.is_file()
                           and not any(part.startswith(".") for part in f.relative_to(p).parts))
            out += found
        elif p.is_file():
            out.append(p)
        else:
            raise InputError(f"Corpus {str(p)!r} is neither a file nor a folder.")
    if not out:
        raise InputError("The corpus holds no files.")
    return out


def _npy_header(path: Path) -> tuple[tuple[int, ...], bool, np.dtype, int]:
    with open(path, "rb") as f:
        try:
            shape, fortran, dtype = npy_header(f)
        except ValueError as exc:
            raise InputError(f"{path.name} is not a readable .npy file: {exc}") from None
        return shape, fortran, dtype, f.tell()


def _encoder(vocabulary: Vocabulary) -> np.ndarray:
    """A table from Unicode code point to id (−1: not in the vocabulary)."""
    if not all(len(s) == 1 for s in vocabulary.symbols):
        raise InputError("This vocabulary has symbols longer than one character; a text corpus "
                         "is read one character a token. Give token ids as a .npy instead.")
    cps = [ord(s) for s in vocabulary.symbols]
    table = np.full(max(cps) + 2, -1, np.int32)
    table[cps] = np.arange(len(cps), dtype=np.int32)
    return table


def encode_chars(text: str, table: np.ndarray, lines: bool
                 ) -> tuple[np.ndarray, int, np.ndarray]:
    """Ids (int32) of ``text``'s characters through ``table``, those not in it skipped.

    Returns (ids, characters skipped, the number of ids before each newline when ``lines``:
    then newlines end lines and are not ids or skipped, else they are characters like any).
    """
    cps = np.frombuffer(text.encode("utf-32-le"), "<u4")
    ids = table[np.minimum(cps, len(table) - 1)]
    keep = ids >= 0
    ends = np.zeros(0, np.int64)
    newlines = 0
    if lines:
        nl = np.flatnonzero(cps == 10)
        keep[nl] = False  # a line's document does not hold its newline
        ends = np.cumsum(keep)[nl]  # ids kept up to and including each newline
        newlines = len(nl)
    kept = ids[keep]
    return kept, int(cps.size - kept.size - newlines), ends


def text_documents(text: str, vocabulary: Vocabulary, split: str = "file"
                   ) -> tuple[list[np.ndarray], int]:
    """A text's documents as a corpus job reads a text file: (id arrays, characters skipped).

    ``split`` "file" or "none": one document, the newline a token like any other (when the
    vocabulary has it); "line": one document a line, its newline not fed. Empty documents
    are dropped."""
    if split not in SPLITS:
        raise InputError(f"split must be one of {', '.join(SPLITS)}; got {split!r}.")
    ids, skipped, ends = encode_chars(text, _encoder(vocabulary), split == "line")
    spans = document_spans(ends, len(ids), split == "line")
    return [ids[a:b] for a, b, _ in spans if b > a], skipped


def document_spans(line_ends, n: int, lines: bool) -> list[tuple[int, int, int]]:
    """(start, stop, label) of the documents of n encoded tokens: one (label −1), or with
    ``lines`` one a non-empty line (label: its line number) ending at ``line_ends``."""
    if not lines:
        return [(0, n, -1)]
    bounds = [0, *(int(e) for e in line_ends), n]
    return [(a, b, line) for line, (a, b) in enumerate(zip(bounds, bounds[1:])) if b > a]


def encode_text(path: Path, table: np.ndarray, out: Path, lines: bool
                ) -> tuple[int, int, list[int]]:
    """Encode a UTF-8 file into raw int32 ids at ``out``, a block at a time.

    Returns (tokens, characters skipped, token offsets where each line ends when ``lines``).
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    n = skipped = 0
    ends: list[int] = []
    with open(path, "rb") as src, open(out, "wb") as dst:
        while True:
            raw = src.read(TEXT_BLOCK)
            try:
                text = decoder.decode(raw, final=not raw)
            except UnicodeDecodeError as exc:
                raise InputError(f"{path.name} is not UTF-8 text (near byte {exc.start} of a "
                                 "block).") from None
            if text:
                kept, skip, line_ends = encode_chars(text, table, lines)
                ends += (n + line_ends).tolist()
                skipped += skip
                dst.write(kept.astype("<i4").tobytes())
                n += kept.size
            if not raw:
                break
    return n, skipped, ends


def open_corpus(paths, kind: str, work_dir: str | os.PathLike,
                vocabulary: Vocabulary | None = None, symbols: int | None = None,
                width: int | None = None, split: str = "file") -> Corpus:
    """Index (and for text, encode into ``work_dir``) a corpus for a model that reads ``kind``:
    "ids" (``symbols`` of them, text through ``vocabulary``) or "vectors" of ``width``."""
    if split not in SPLITS:
        raise InputError(f"split must be one of {', '.join(SPLITS)}; got {split!r}.")
    files = corpus_files(paths)
    work = Path(work_dir)
    work.mkdir(parents=True, exist_ok=True)
    table = _encoder(vocabulary) if vocabulary is not None else None
    tfiles, bases, docs = [], [], []  # docs: (start, stop, source, label)
    skipped, base = 0, 0
    finger = hashlib.sha256(split.encode())
    for i, path in enumerate(files):
        st = path.stat()
        finger.update(f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}\n".encode())
        if path.suffix == ".npy":
            tf, spans = _npy_file(path, kind, width)
        else:
            tf, spans, skip = _text_file(path, i, table, kind, width, work, split)
            skipped += skip
        docs += [(base + a, base + b, i, label) for a, b, label in spans]
        tfiles.append(tf)
        bases.append(base)
        base += tf.rows
    starts_a, stops_a, sources_a, labels_a = (np.array([d[c] for d in docs], np.int64)
                                              for c in range(4))
    if split == "none" and len(starts_a):
        starts_a, stops_a = starts_a[:1], stops_a[-1:]
        sources_a, labels_a = sources_a[:1], np.array([-1])
    keep = stops_a > starts_a
    if symbols is not None and kind == "ids":
        for tf in tfiles:
            _check_ids(tf, symbols)
    return Corpus(tuple(str(p) for p in files), kind, tuple(tfiles), tuple(bases),
                  starts_a[keep], stops_a[keep], sources_a[keep], labels_a[keep], split,
                  skipped, finger.hexdigest())


def _npy_file(path: Path, kind: str, width: int | None
              ) -> tuple[TokenFile, list[tuple[int, int, int]]]:
    """A .npy of token ids (T,) / (N, T) or vectors (T, I) / (N, T, I), read in place: its
    TokenFile and its documents' (start, stop, label) rows within it."""
    shape, fortran, dtype, offset = _npy_header(path)
    if fortran and len(shape) > 1:
        raise InputError(f"{path.name} is stored in Fortran order; save it with "
                         "numpy.save(np.ascontiguousarray(x)).")
    if dtype.hasobject or not (np.issubdtype(dtype, np.number) or dtype.kind == "b"):
        raise InputError(f"{path.name} holds {dtype}, not numbers.")
    if kind == "ids":
        if not np.issubdtype(dtype, np.integer) or len(shape) not in (1, 2):
            raise InputError(f"{path.name} has shape {shape} of {dtype}: this model "
                             "reads symbols, so give token ids, (T,) or (N, T) integers.")
        cols = 0
    else:
        if len(shape) == 1 and width == 1:
            shape = (shape[0], 1)
        if len(shape) not in (2, 3) or shape[-1] != width:
            raise InputError(f"{path.name} has shape {shape}; this model reads vectors "
                             f"of {width}: give (T, {width}) or (N, T, {width}).")
        cols, shape = width, shape[:-1]
    rows_per = shape[-1]
    n = 1 if len(shape) == 1 else shape[0]
    tf = TokenFile(str(path), dtype.str, offset, n * rows_per, cols)
    return tf, [(j * rows_per, (j + 1) * rows_per, j if n > 1 else -1) for j in range(n)]


def _text_file(path: Path, i: int, table, kind: str, width: int | None, work: Path,
               split: str) -> tuple[TokenFile, list[tuple[int, int, int]], int]:
    """A text file encoded into ``work``: its TokenFile, its documents' (start, stop, label)
    (one per line with split "line"; empty lines dropped) and the characters skipped."""
    if table is None:
        raise InputError(f"{path.name} is not a .npy file: this model reads "
                         + ("token ids without a vocabulary, so give them as .npy."
                            if kind == "ids" else f"vectors of {width}, give a .npy."))
    out = work / f"tokens-{i}.bin"
    n, skipped, ends = encode_text(path, table, out, split == "line")
    tf = TokenFile(str(out), "<i4", 0, n, 0)
    return tf, document_spans(ends, n, split == "line"), skipped


def _check_ids(tf: TokenFile, symbols: int, block: int = 1 << 22) -> None:
    for s in range(0, tf.rows, block):
        ids = tf.read(s, s + block)
        if ids.size and (ids.min() < 0 or ids.max() >= symbols):
            raise InputError(f"{Path(tf.path).name} holds token ids {int(ids.min())}.."
                             f"{int(ids.max())}; this model reads 0..{symbols - 1}.")
