"""Text from a file, a link or a user is data: make it safe for each place it is shown.

Streamlit renders Markdown (with images, links, ``:red[...]`` directives and ``$`` maths) in
``st.markdown``, captions, alerts and widget labels; Plotly renders a subset of HTML in titles,
ticks and hover text; terminals obey escape sequences. Every untrusted string goes through one of
these three functions before it reaches such a place.
"""

from __future__ import annotations

import html
import re
import unicodedata

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$:&=\"'^])")


def _visible(s: str, keep: str = "") -> str:
    """Replace control and format characters (bidi included) by their code point, e.g. <U+202E>."""
    out = []
    for ch in str(s):
        if ch in keep:
            out.append(ch)
        # Cf holds the bidi overrides and isolates, which reorder what follows them on screen.
        elif unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn"):
            out.append("" if ch == "\u200d" else f"<U+{ord(ch):04X}>")  # ZWJ joins emoji: harmless
        else:
            out.append(ch)
    return "".join(out)


def markdown_text(s: object) -> str:
    """``s`` shown literally by Streamlit's Markdown: every punctuation mark backslash-escaped."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", _visible(str(s)).replace("\n", " "))


def html_text(s: object) -> str:
    """``s`` shown literally inside HTML or a Plotly label (title, tick, hover, annotation)."""
    return html.escape(_visible(str(s)), quote=True)


def terminal_text(s: object) -> str:
    """``s`` printed to a terminal with no escape sequence or control character left active."""
    return _visible(str(s), keep="\n\t")
