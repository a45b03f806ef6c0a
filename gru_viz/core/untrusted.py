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

# Marks that start a Markdown construct anywhere: links and images ([), HTML and autolinks
# (<), emphasis, code, strike-through, maths ($, which Streamlit renders with KaTeX), headings,
# tables and entities (&#x202E; would smuggle a bidi control). Marks that matter only in some
# places are escaped there: "_" at a word's edge (intraword "_" is never emphasis, so file
# names stay readable) and a list or quote marker at the start. GFM's bare autolinks
# (http://…, www.…, name@host) are found after escapes are resolved, so a backslash cannot
# stop them: a word joiner (U+2060, invisible) breaks "://", "www." and "@" instead.
_ALWAYS = re.compile(r"([\\`*~\[\]<>$#|&])")
_EDGE_UNDERSCORE = re.compile(r"(?<![^\W_])_|_(?![^\W_])")
_AUTOLINK = re.compile(r"(?i)(?=://)|(?<=www)(?=\.)|(?<=@)")
WORD_JOINER = "\u2060"
_LEADING = re.compile(r"^(\s*)([-+=]|\d+(?=[.)]))([.)]?)")


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
    """``s`` shown literally by Streamlit's Markdown (one line): every mark that could start
    a construct backslash-escaped, control and bidi characters shown as <U+XXXX>."""
    t = _ALWAYS.sub(r"\\\1", _visible(str(s)).replace("\n", " ").strip())  # 4 spaces: code
    t = _AUTOLINK.sub(WORD_JOINER, _EDGE_UNDERSCORE.sub(r"\\_", t))
    return _LEADING.sub(lambda m: m.group(1) + (f"\\{m.group(2)}" if not m.group(3) else
                                                f"{m.group(2)}\\{m.group(3)}"), t, count=1)


def html_text(s: object) -> str:
    """``s`` shown literally inside HTML or a Plotly label (title, tick, hover, annotation).

    A double quote becomes ``&#34;``, not ``&quot;``: Plotly's labels decode numeric
    references but, of the named ones, only a few (amp, lt, gt, …), so they showed "&quot;".
    """
    return html.escape(_visible(str(s)), quote=True).replace("&quot;", "&#34;")


def terminal_text(s: object) -> str:
    """``s`` printed to a terminal with no escape sequence or control character left active."""
    return _visible(str(s), keep="\n\t")


def md(template: str, *args: object, **kwargs: object) -> str:
    """Markdown written in this package (``template``, ``str.format`` syntax) with each value
    shown literally: strings through ``markdown_text``; numbers as they are, so that format
    specs such as ``{:.3g}`` still apply."""
    def safe(v: object) -> object:
        return v if isinstance(v, (int, float)) and not isinstance(v, bool) else markdown_text(v)
    return template.format(*map(safe, args), **{k: safe(v) for k, v in kwargs.items()})


def authored(s: str) -> str:
    """Markdown written in this package (a preset's explanation, a lesson), never from a file,
    a link or a user: shown as Markdown. Marks the call site as reviewed."""
    return s
