"""The four GRU equations of one timestep with that step's numbers substituted.

Terms are recomputed from the weights, the step's input and the previous state, in the
chosen notation and reset placement, so what the page shows is arithmetic a student can
redo; tests check that the results equal the recorded trace.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from html import escape

import numpy as np

from gru_viz.core.notation import COURSE, Notation, grouped
from gru_viz.core.trace import LayerTrace
from gru_viz.core.weights import GRUWeights

FULL_MATRICES = 3  # show whole matrices up to this hidden and input size, else one unit


@dataclass(frozen=True, eq=False)
class Term:
    """One summand (or, in the blend, one share): value (H,).

    Drawn as ``gate ⊙ (matrix vector + bias)``, with any part absent; ``gate_inside`` puts
    the gate on the vector instead: ``matrix (gate ⊙ vector)`` (reset before).
    """

    sym: str
    value: np.ndarray
    matrix: np.ndarray | None = None
    vector: np.ndarray | None = None
    gate: np.ndarray | None = None
    bias: np.ndarray | None = None
    gate_inside: bool = False
    role: str = ""  # "input", "recurrent", "bias", "kept", "written"


@dataclass(frozen=True, eq=False)
class Equation:
    lhs: str  # TeX of the left-hand side
    symbolic: str  # TeX of the right-hand side in symbols
    fn: str  # r"\sigma", r"\tanh" or "" (the blend is a plain sum)
    terms: tuple[Term, ...]
    value: np.ndarray  # (H,)

    @property
    def pre(self) -> np.ndarray:
        """The argument of the activation (the sum of the terms)."""
        return np.sum([t.value for t in self.terms], axis=0)


@dataclass(frozen=True, eq=False)
class StepMath:
    t: int
    notation: Notation
    reset_after: bool
    x: np.ndarray  # (I,)
    h_prev: np.ndarray  # (H,)
    update: Equation
    reset: Equation
    candidate: Equation
    state: Equation

    @property
    def equations(self) -> tuple[Equation, ...]:
        return self.update, self.reset, self.candidate, self.state


def sigmoid(a: np.ndarray) -> np.ndarray:
    return 0.5 * (1 + np.tanh(0.5 * a))


def _syms(notation: Notation) -> dict[str, str]:
    if notation.key == COURSE.key:
        return {"u": r"\Gamma_u", "r": r"\Gamma_r", "n": r"\tilde{c}^{\langle t \rangle}",
                "h": r"c^{\langle t \rangle}", "hp": r"c^{\langle t-1 \rangle}",
                "x": r"x^{\langle t \rangle}"}
    return {"u": "z_t", "r": "r_t", "n": "n_t", "h": "h_t", "hp": "h_{t-1}", "x": "x_t"}


def equations_tex(notation: Notation, reset_after: bool) -> list[str]:
    """The four equations in force, in symbols (course: the corrected last line, c<t-1>)."""
    s = _syms(notation)
    u, r, n, h, hp, x = s["u"], s["r"], s["n"], s["h"], s["hp"], s["x"]
    if notation.key == COURSE.key:
        cand = (rf"\tanh\left(W_{{cx}} {x} + b_c + {r} \odot (W_{{cc}} {hp} + b_{{cc}})\right)"
                if reset_after else rf"\tanh\left(W_c [{r} \odot {hp},\ {x}] + b_c\right)")
        return [rf"{u} = \sigma\left(W_u [{hp},\ {x}] + b_u\right)",
                rf"{r} = \sigma\left(W_r [{hp},\ {x}] + b_r\right)",
                rf"{n} = {cand}",
                rf"{h} = {u} \odot {n} + (1 - {u}) \odot {hp}"]
    cand = (rf"\tanh\left(W_{{in}} {x} + b_{{in}} + {r} \odot (W_{{hn}} {hp} + b_{{hn}})\right)"
            if reset_after else
            rf"\tanh\left(W_{{in}} {x} + b_{{in}} + W_{{hn}} ({r} \odot {hp}) + b_{{hn}}\right)")
    return [rf"{u} = \sigma\left(W_{{iz}} {x} + b_{{iz}} + W_{{hz}} {hp} + b_{{hz}}\right)",
            rf"{r} = \sigma\left(W_{{ir}} {x} + b_{{ir}} + W_{{hr}} {hp} + b_{{hr}}\right)",
            rf"{n} = {cand}",
            rf"{h} = (1 - {u}) \odot {n} + {u} \odot {hp}"]


def equations_block(notation: Notation, reset_after: bool) -> str:
    """The four equations as one aligned TeX block."""
    lines = [e.replace(" = ", " &= ", 1) for e in equations_tex(notation, reset_after)]
    return r"\begin{aligned} " + r" \\ ".join(lines) + r" \end{aligned}"


def _gate(lhs: str, symbolic: str, W_x, W_h, b, x, hp, names: tuple[str, str, str]) -> Equation:
    terms = (Term(names[0], W_x @ x, W_x, x, role="input"),
             Term(names[1], W_h @ hp, W_h, hp, role="recurrent"),
             Term(names[2], b, bias=b, role="bias"))
    return Equation(lhs, symbolic, r"\sigma", terms, sigmoid(sum(t.value for t in terms)))


def step_math(w: GRUWeights, x: np.ndarray, h_prev: np.ndarray, notation: Notation,
              t: int = 0) -> StepMath:
    """The equations of one step from the weights, input x (I,) and previous state (H,)."""
    x, hp = np.asarray(x, np.float64), np.asarray(h_prev, np.float64)
    H, ra = w.hidden_size, w.reset_after
    s = _syms(notation)
    lines = [e.split(" = ", 1)[1] for e in equations_tex(notation, ra)]
    if notation.key == COURSE.key:
        cw = w.to_course()
        upd = _gate(s["u"], lines[0], cw.W_u[:, H:], cw.W_u[:, :H], cw.b_u, x, hp,
                    (rf"W_{{ux}} {s['x']}", rf"W_{{uc}} {s['hp']}", "b_u"))
        rst = _gate(s["r"], lines[1], cw.W_r[:, H:], cw.W_r[:, :H], cw.b_r, x, hp,
                    (rf"W_{{rx}} {s['x']}", rf"W_{{rc}} {s['hp']}", "b_r"))
        W_x, W_h, b_x, b_h = cw.W_c[:, H:], cw.W_c[:, :H], cw.b_c, cw.b_cc
        names = (rf"W_{{cx}} {s['x']}", "b_c", r"W_{cc}", "b_{cc}")
        write = upd.value  # Γu: share written
    else:
        upd = _gate(s["u"], lines[0], w.W_iz, w.W_hz, w.b_iz + w.b_hz, x, hp,
                    (rf"W_{{iz}} {s['x']}", rf"W_{{hz}} {s['hp']}", r"b_{iz} + b_{hz}"))
        rst = _gate(s["r"], lines[1], w.W_ir, w.W_hr, w.b_ir + w.b_hr, x, hp,
                    (rf"W_{{ir}} {s['x']}", rf"W_{{hr}} {s['hp']}", r"b_{ir} + b_{hr}"))
        W_x, W_h, b_x, b_h = w.W_in, w.W_hn, w.b_in, w.b_hn
        names = (rf"W_{{in}} {s['x']}", "b_{in}", r"W_{hn}", "b_{hn}")
        write = 1 - upd.value  # z is the share kept
    r = rst.value
    if ra:  # the reset gate scales the whole recurrent term, its bias included
        rec = Term(rf"{s['r']} \odot ({names[2]} {s['hp']} + {names[3]})", r * (W_h @ hp + b_h),
                   W_h, hp, gate=r, bias=b_h, role="recurrent")
        bias = b_x
    else:  # the reset gate scales the previous state before the product
        rec = Term(rf"{names[2]} ({s['r']} \odot {s['hp']})", W_h @ (r * hp), W_h, hp, gate=r,
                   gate_inside=True, role="recurrent")
        bias = b_x + b_h
        names = (names[0], names[1] if notation.key == COURSE.key else r"b_{in} + b_{hn}")
    terms = (Term(names[0], W_x @ x, W_x, x, role="input"), rec,
             Term(names[1], bias, bias=bias, role="bias"))
    cand = Equation(s["n"], lines[2], r"\tanh", terms, np.tanh(sum(t.value for t in terms)))
    n = cand.value
    kept_sym = grouped(notation.kept(s["u"], "1 - "))
    write_sym = grouped(notation.written(s["u"], "1 - "))
    blend = (Term(rf"{write_sym} \odot {s['n']}", write * n, vector=n, gate=write, role="written"),
             Term(rf"{kept_sym} \odot {s['hp']}", (1 - write) * hp, vector=hp, gate=1 - write,
                  role="kept"))
    new = Equation(s["h"], lines[3], "", blend, sum(t.value for t in blend))
    return StepMath(t, notation, ra, x, hp, upd, rst, cand, new)


def from_trace(w: GRUWeights, cell: LayerTrace, t: int, notation: Notation) -> StepMath:
    """Step t of a recorded single-sequence run (cell fields (T, ·))."""
    return step_math(w, cell.x[t], cell.h_prev[t], notation, t)


# --- TeX with numbers ---------------------------------------------------------------------

def number(v: float, digits: int = 2, sign: bool = False) -> str:
    """The one rounding rule of the teaching pages: to 6 decimals first, then half away from
    zero to ``digits``. Two values that agree to 1e-6 (c̃ = 0.9950000 and c = 0.9949999, the
    same 0.995 computed two ways) print alike ("1.00"); no "-0.00"."""
    v = float(v)
    if not math.isfinite(v):
        return "nan"
    # |v| to 6 decimals, scaled: within 1e-9 of a number with 6 - digits decimals, so a tie
    # is exactly .5 and the small nudge settles binary noise the decimal way (half up)
    n = math.floor(abs(round(v, 6)) * 10 ** digits + 0.5 + 1e-7)
    text = f"{n / 10 ** digits:.{digits}f}"
    if v < 0 and n:
        return "-" + text
    return "+" + text if sign else text


def _num(v: float, digits: int) -> str:
    if not np.isfinite(v):
        return r"\text{nan}"
    return number(v, digits)


def _mat(a: np.ndarray, digits: int) -> str:
    a = np.atleast_2d(a) if a.ndim == 2 else a[:, None]
    rows = r" \\ ".join(" & ".join(_num(v, digits) for v in row) for row in a)
    return rf"\begin{{bmatrix}} {rows} \end{{bmatrix}}"


def _whole(term: Term, mat: Callable[[np.ndarray], str], odot: str,
           paren: Callable[[str], str]) -> str:
    """A term with whole matrices and vectors, in TeX or HTML (``mat``, ``odot``, ``paren``)."""
    if term.matrix is None and term.vector is None:
        return mat(term.bias)
    vec = mat(term.vector)
    if term.gate_inside:
        return f"{mat(term.matrix)} {paren(f'{mat(term.gate)} {odot} {vec}')}"
    inner = vec if term.matrix is None else f"{mat(term.matrix)} {vec}"
    if term.bias is not None:
        inner = f"{inner} + {mat(term.bias)}"
    if term.gate is None:
        return inner
    if term.bias is not None:
        inner = paren(inner)
    return f"{mat(term.gate)} {odot} {inner}"


def term_tex(term: Term, unit: int | None = None, digits: int = 2) -> str:
    """A term with numbers: whole matrices and vectors, or just its value for one unit."""
    if unit is not None:  # the number, labelled with the term it comes from
        return rf"\underbrace{{{_num(term.value[unit], digits)}}}_{{{term.sym}}}"
    return _whole(term, lambda a: _mat(a, digits), r"\odot", lambda x: rf"\left({x}\right)")


def equation_tex(eq: Equation, unit: int | None = None, digits: int = 2) -> str:
    """An aligned block: the symbols, then the numbers substituted, then the result."""
    def pick(v: np.ndarray) -> str:
        return _num(v[unit], digits) if unit is not None else _mat(v, digits)

    lhs = eq.lhs if unit is None else rf"{eq.lhs}[{unit}]"
    parts = [term_tex(t, unit, digits) for t in eq.terms]
    if not eq.fn:
        lines = [eq.symbolic, " + ".join(parts), pick(eq.value)]
    elif unit is None:  # whole matrices: one term a line, each line's brackets sized to it
        lines = [eq.symbolic, rf"{eq.fn}\left({parts[0]}\right."]
        lines += [rf"\quad \left. + {p}\right." for p in parts[1:-1]]
        lines += [rf"\quad \left. + {parts[-1]}\right)",
                  rf"{eq.fn}\left({pick(eq.pre)}\right) = {pick(eq.value)}"]
    else:  # one unit: the numbers fit on one line
        lines = [eq.symbolic, rf"{eq.fn}\left({' + '.join(parts)}\right) = "
                 rf"{eq.fn}\left({pick(eq.pre)}\right) = {pick(eq.value)}"]
    body = r" \\ &= ".join(lines).replace("&= \\quad", "&\\quad").replace("+ -", "- ")
    return rf"\begin{{aligned}} {lhs} &= {body} \end{{aligned}}"


def dominant(eq: Equation, unit: int) -> Term:
    """The term with the largest magnitude for this unit."""
    return max(eq.terms, key=lambda term: abs(term.value[unit]))


def explain(eq: Equation, unit: int) -> str:
    """One sentence on what decided this unit's value (Markdown with inline TeX)."""
    top = dominant(eq, unit)
    if not eq.fn:
        kept = next(t for t in eq.terms if t.role == "kept")
        share = float(kept.gate[unit])
        return (f"Unit {unit} keeps {share:.0%} of its old state and writes {1 - share:.0%} "
                f"of the candidate: ${kept.sym}$ = {kept.value[unit]:+.2f}, "
                f"the written part = {eq.value[unit] - kept.value[unit]:+.2f}.")
    rest = eq.pre[unit] - top.value[unit]
    return (f"Unit {unit}: the {top.role} term ${top.sym}$ dominates ({top.value[unit]:+.2f}; "
            f"the other terms add {rest:+.2f}).")


# --- HTML with numbers (the step-through page's browser view) -------------------------------

_TEX_SYMBOLS = {"Gamma": "Γ", "sigma": "σ", "tanh": "tanh", "odot": "⊙", "langle": "⟨",
                "rangle": "⟩", "quad": " ", " ": " ", ",": " ", "cdot": "·", "left": "",
                "right": ""}


def _group(s: str, i: int) -> tuple[str, int]:
    """The TeX argument at s[i]: a braced group (without its braces) or one character."""
    if i < len(s) and s[i] == "{":
        depth, j = 1, i + 1
        while j < len(s) and depth:
            depth += {"{": 1, "}": -1}.get(s[j], 0)
            j += 1
        return s[i + 1:j - 1], j
    return s[i:i + 1], i + 1


@lru_cache(maxsize=4096)
def tex_html(tex: str) -> str:
    """HTML for the small TeX vocabulary of our equations (symbols, sub/superscripts, σ, ⊙,
    \\tilde, \\left/\\right, \\text): what the browser shows without a TeX engine."""
    out, i = [], 0
    while i < len(tex):
        c = tex[i]
        if c == "\\":
            j = i + 1
            while j < len(tex) and tex[j].isalpha():
                j += 1
            name = tex[i + 1:j] or tex[i + 1:i + 2]
            i = max(j, i + 2) if not tex[i + 1:j] else j
            if name == "tilde":
                arg, i = _group(tex, i)
                out.append(tex_html(arg) + "\u0303")
            elif name == "text":
                arg, i = _group(tex, i)
                out.append(escape(arg))
            else:
                out.append(_TEX_SYMBOLS.get(name, escape(name)))
        elif c in "_^":
            arg, i = _group(tex, i + 1)
            tag = "sub" if c == "_" else "sup"
            out.append(f"<{tag}>{tex_html(arg)}</{tag}>")
        elif c == "{":
            arg, i = _group(tex, i)
            out.append(tex_html(arg))
        else:
            out.append("−" if c == "-" else escape(c))
            i += 1
    return "".join(out).replace("⟨ ", "⟨").replace(" ⟩", "⟩")


def _mat_html(a: np.ndarray, digits: int) -> str:
    a = np.atleast_2d(a) if a.ndim == 2 else a[:, None]
    cells = "".join(f"<span>{number(v, digits)}</span>" for v in a.ravel())
    return f'<span class="mx" style="--c:{a.shape[1]}">{cells}</span>'


def term_html(term: Term, unit: int | None = None, digits: int = 2) -> str:
    """``term_tex`` in HTML: the unit's number over its term's symbol, or whole matrices."""
    if unit is not None:
        return (f'<span class="ub"><span class="n">{number(term.value[unit], digits)}</span>'
                f'<span class="s">{tex_html(term.sym)}</span></span>')
    return _whole(term, lambda a: _mat_html(a, digits), "⊙", lambda x: f"({x})")


def _sum_html(eq: Equation, unit: int | None, digits: int) -> str:
    """The terms joined by + (or −, for a unit's negative number: "0.50 − 0.20")."""
    out = []
    for k, term in enumerate(eq.terms):
        part = term_html(term, unit, digits)
        if k and unit is not None and number(term.value[unit], digits).startswith("-"):
            out.append(" − " + part.replace('class="n">-', 'class="n">', 1))
        else:
            out.append((" + " if k else "") + part)
    return "".join(out)


def equation_html(eq: Equation, unit: int | None = None, digits: int = 2) -> str:
    """``equation_tex`` in HTML: the symbols, then the numbers substituted, then the result."""
    def pick(v: np.ndarray) -> str:
        return number(v[unit], digits) if unit is not None else _mat_html(v, digits)

    lhs = tex_html(eq.lhs) + (f"[{unit}]" if unit is not None else "")
    fn = tex_html(eq.fn)
    body = _sum_html(eq, unit, digits)
    numbers = (f"{body} = {pick(eq.value)}" if not eq.fn else
               f"{fn}({body}) = {fn}({pick(eq.pre)}) = <b>{pick(eq.value)}</b>")
    return (f'<div class="eq"><div class="sym">{lhs} = {tex_html(eq.symbolic)}</div>'
            f'<div class="num">= {numbers}</div></div>')


def explain_html(eq: Equation, unit: int) -> str:
    """``explain`` in HTML (its inline TeX turned into HTML)."""
    parts = explain(eq, unit).split("$")
    return "".join(tex_html(p) if k % 2 else escape(p) for k, p in enumerate(parts))
