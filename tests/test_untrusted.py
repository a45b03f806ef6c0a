"""Untrusted text is shown literally: no Markdown, HTML, bidi or terminal control survives."""

import html
import re
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gru_viz.core.untrusted import html_text, markdown_text, terminal_text

HOSTILE = ["![i](http://evil.example/x.png)", "[click](https://evil.example)", ":red[alert]",
           "<img src=x onerror=alert(1)>", "$\\frac{a}{b}$", "**bold** _it_ `code`",
           "# heading", "\u202etxt.exe", "a\x1b[2J\x1b]0;title\x07b", "<span style='x'>s</span>"]
PUNCTUATION = set(string.punctuation)


def unescaped(md: str) -> tuple[str, set[str]]:
    """What CommonMark shows for ``md`` when every escape is honoured, and any punctuation left
    unescaped (which could start Markdown)."""
    shown, bare, i = [], set(), 0
    while i < len(md):
        if md[i] == "\\" and i + 1 < len(md) and md[i + 1] in PUNCTUATION:
            shown.append(md[i + 1])
            i += 2
            continue
        if md[i] in PUNCTUATION:
            bare.add(md[i])
        shown.append(md[i])
        i += 1
    return "".join(shown), bare


@given(st.text())
def test_markdown_escapes_every_mark_and_shows_the_text(s):
    shown, bare = unescaped(markdown_text(s))
    assert not bare & set("\\`*~[]<>$#|&")  # marks that start a construct anywhere
    assert not re.search(r"[\x00-\x1f\x7f\u202a-\u202e\u2066-\u2069]", shown)
    assert not re.search(r"(?i)[a-z0-9]://|www\.|@[^\u2060]", markdown_text(s))  # no bare autolink
    if s.isprintable():
        assert shown.replace("\u2060", "") == s.strip()


@given(st.text())
def test_markdown_text_renders_as_one_plain_paragraph(s):
    """CommonMark (markdown-it, as Streamlit's react-markdown) sees text only."""
    md = pytest.importorskip("markdown_it").MarkdownIt("commonmark").enable(
        ["table", "strikethrough"])
    src = markdown_text(s)
    out = md.render(src)
    if not src:
        assert out == ""
        return
    body = re.fullmatch(r"<p>(.*)</p>\n", out, re.S)
    assert body, out
    assert "<" not in body.group(1), out  # no element: every < of the text arrives as &lt;
    assert html.unescape(body.group(1)) == unescaped(src)[0]


def test_bare_autolinks_are_broken_invisibly():
    for s in ("see http://evil.example/x.png", "www.evil.example", "me@evil.example"):
        out = markdown_text(s)
        assert not re.search(r"(?i)[a-z]://|www\.|@\w", out) and out.replace("\u2060", "") \
            .replace("\\", "") == s


@pytest.mark.parametrize("s", HOSTILE)
def test_html_and_terminal(s):
    assert "<" not in html_text(s).replace("&lt;", "").replace("<U+", "")
    assert "\x1b" not in terminal_text(s) and "\u202e" not in terminal_text(s)
    assert "\x07" not in terminal_text(s)


def test_plain_text_is_unchanged_in_the_terminal_and_readable_in_html():
    assert terminal_text("h = z·h + (1−z)·n\n") == "h = z·h + (1−z)·n\n"
    assert html_text("a < b & c") == "a &lt; b &amp; c"
    assert "<U+202E>txt" == unescaped(markdown_text("\u202etxt"))[0] == html.unescape(html_text("\u202etxt"))


def plotly_shown(label: str) -> str:
    """A label as Plotly's text shows it: numeric character references and only a few named
    ones decoded (plotly.js svg_text_utils: mu, amp, lt, gt, nbsp, times, plusmn, deg)."""
    named = {"mu": "μ", "amp": "&", "lt": "<", "gt": ">", "nbsp": "\xa0", "times": "×",
             "plusmn": "±", "deg": "°"}
    return re.sub(r"&(#\d+|#x[\da-fA-F]+|[a-z]+);", lambda m: (
        chr(int(m[1][2:], 16) if m[1][1] == "x" else int(m[1][1:])) if m[1][0] == "#"
        else named.get(m[1], m[0])), label)


@given(st.text(alphabet=string.printable))
def test_plotly_shows_an_escaped_label_as_a_web_page_would(s):
    shown = html_text(s)  # e.g. a token '"' showed as "&quot;" on every tick and hover
    assert "<" not in shown and plotly_shown(shown) == html.unescape(shown)
