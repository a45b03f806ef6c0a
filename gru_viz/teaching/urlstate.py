"""The teaching pages' state as short strings for a shareable URL, and weights as JSON.

A URL is untrusted input: ``decode`` never raises; each bad value is replaced by its default
and reported in one plain sentence. Custom weights travel as float32 bytes in URL-safe base64
(``H.I.data``); a preset travels as its key alone while its weights are unchanged.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np

from gru_viz.core.errors import GRUVizError, WeightsError
from gru_viz.core.weights import GRUWeights
from gru_viz.teaching.presets import all_presets

MAX_HIDDEN, MAX_INPUT = 8, 4
MAX_TEXT = 2000  # characters of typed input kept from a URL
MAX_JSON = 200_000  # bytes of an uploaded weights file
NOTATION_KEYS = ("course", "pytorch")
JSON_FORMAT = "gru-viz-weights"


@dataclass(frozen=True, eq=False)
class ViewState:
    """What a link restores. ``preset`` names the preset the weights came from (its
    vocabulary and explanation), even when some weights were edited since."""

    weights: GRUWeights
    text: str
    preset: str | None = None
    vocabulary: tuple[str, ...] | None = None
    notation: str = "course"
    reset_after: bool = False
    step: int = 0


def _same(a: GRUWeights, b: GRUWeights) -> bool:
    """Equal as float32 (what a link stores), whatever the reset placement."""
    return a.astype(np.float32).replace(reset_after=b.reset_after).equals(b.astype(np.float32))


def pack_weights(w: GRUWeights) -> str:
    flat = np.concatenate([a.ravel() for a in w.fused().values()]).astype("<f4")
    data = base64.urlsafe_b64encode(flat.tobytes()).decode().rstrip("=")
    return f"{w.hidden_size}.{w.input_size}.{data}"


def unpack_weights(s: str) -> GRUWeights:
    """The inverse of pack_weights; raises WeightsError saying what is wrong."""
    try:
        h, i, data = s.split(".", 2)
        H, I = int(h), int(i)
    except ValueError:
        raise WeightsError("the weights are not of the form H.I.data") from None
    if not (1 <= H <= MAX_HIDDEN and 1 <= I <= MAX_INPUT):
        raise WeightsError(f"hidden size {H} or input size {I} is outside 1–{MAX_HIDDEN}, "
                           f"1–{MAX_INPUT}")
    try:
        raw = base64.b64decode(data + "=" * (-len(data) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise WeightsError("the weights data is not base64") from None
    sizes = (3 * H * I, 3 * H * H, 3 * H, 3 * H)
    if len(raw) != 4 * sum(sizes):
        raise WeightsError(f"the weights data holds {len(raw) // 4} numbers, expected "
                           f"{sum(sizes)} for hidden size {H} and input size {I}")
    flat = np.frombuffer(raw, "<f4").astype(np.float64)
    if not np.isfinite(flat).all():
        raise WeightsError("the weights hold NaN or infinity")
    parts = np.split(flat, np.cumsum(sizes)[:-1])
    return GRUWeights.from_fused(parts[0].reshape(3 * H, I), parts[1].reshape(3 * H, H),
                                 parts[2], parts[3], reset_after=False)


def to_query(state: ViewState) -> dict[str, str]:
    """Query parameters for ``state`` (all strings)."""
    out = {}
    preset = all_presets().get(state.preset) if state.preset else None
    if preset is not None:
        out["p"] = preset.key
    if preset is None or not _same(preset.weights, state.weights):
        out["w"] = pack_weights(state.weights)
    return out | {"x": state.text, "n": state.notation,
                  "r": "after" if state.reset_after else "before", "t": str(state.step)}


def from_query(params: Mapping[str, str], default: ViewState) -> tuple[ViewState, list[str]]:
    """The state a link describes, falling back to ``default`` field by field; never raises.

    Returns the state and the problems found, one sentence each, for the page to show.
    """
    problems: list[str] = []
    state = _weights_from_query(params, default, problems)
    state = _view_from_query(params, state, problems)
    return state, problems


def _weights_from_query(params: Mapping[str, str], state: ViewState,
                        problems: list[str]) -> ViewState:
    """The preset (``p``) and weights (``w``) a link names, over ``state``."""
    presets = all_presets()
    p = params.get("p")
    if p is not None:
        if p in presets:
            pr = presets[p]
            state = replace(state, preset=p, weights=pr.weights, text=pr.text,
                            vocabulary=pr.vocabulary.symbols if pr.vocabulary else None,
                            reset_after=state.reset_after if pr.reset_after is None
                            else pr.reset_after)  # a trained model's own placement
        else:
            problems.append(f"The link names an unknown preset {p[:40]!r}; showing the default.")
    w = params.get("w")
    if w is not None:
        if p is None:  # weights of their own, from no preset
            state = replace(state, preset=None, vocabulary=None)
        try:
            weights = unpack_weights(w[:20_000])
        except GRUVizError as exc:
            problems.append(f"The link's weights could not be read ({exc}); "
                            "keeping the preset or default weights.")
        else:
            fits = state.vocabulary is None or len(state.vocabulary) == weights.input_size
            state = replace(state, weights=weights, vocabulary=state.vocabulary if fits else None,
                            preset=state.preset if fits else None)
    return state


def _view_from_query(params: Mapping[str, str], state: ViewState,
                     problems: list[str]) -> ViewState:
    """The input (``x``), notation (``n``), reset placement (``r``) and step (``t``)."""
    x = params.get("x")
    if x is not None:
        if len(x) > MAX_TEXT:
            problems.append(f"The link's input is longer than {MAX_TEXT} characters; cut there.")
        state = replace(state, text=x[:MAX_TEXT])
    n = params.get("n")
    if n is not None:
        if n in NOTATION_KEYS:
            state = replace(state, notation=n)
        else:
            problems.append(f"Unknown notation {n[:20]!r} in the link; use 'course' or 'pytorch'.")
    r = params.get("r")
    if r is not None:
        if r in ("after", "before"):
            state = replace(state, reset_after=r == "after")
        else:
            problems.append(f"Unknown reset placement {r[:20]!r} in the link; "
                            "use 'after' or 'before'.")
    t = params.get("t")
    if t is not None:
        if t.isascii() and t.isdigit() and len(t) < 7:  # "¹".isdigit() is True
            state = replace(state, step=int(t))
        else:
            problems.append(f"The link's timestep {t[:20]!r} is not a whole number ≥ 0.")
    return state


def weights_to_json(w: GRUWeights, vocabulary: tuple[str, ...] | None = None) -> str:
    """A small, readable file: PyTorch's fused tensors (rows r | z | n) as nested lists."""
    doc = {"format": JSON_FORMAT, "version": 1, "hidden_size": w.hidden_size,
           "input_size": w.input_size, "reset_after": w.reset_after,
           "vocabulary": list(vocabulary) if vocabulary else None}
    doc |= {k: v.tolist() for k, v in w.fused().items()}
    return json.dumps(doc, indent=1)


def weights_from_json(data: bytes) -> tuple[GRUWeights, tuple[str, ...] | None]:
    """Weights (and vocabulary, if any) from ``weights_to_json``'s format; WeightsError else."""
    if len(data) > MAX_JSON:
        raise WeightsError(f"The weights file is {len(data)} bytes; at most {MAX_JSON} expected.")
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise WeightsError(f"The weights file is not JSON text ({exc}).") from None
    except RecursionError:  # lists nested ~100k deep: no weights file looks like that
        raise WeightsError("The weights file nests its lists too deeply to be weights.") from None
    if not isinstance(doc, dict) or doc.get("format") != JSON_FORMAT:
        raise WeightsError(f"Expected a JSON object with \"format\": \"{JSON_FORMAT}\", "
                           "as the download button writes.")
    arrays = {key: _json_array(doc, key)
              for key in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}
    reset_after = doc.get("reset_after", False)
    if not isinstance(reset_after, bool):
        raise WeightsError(f"\"reset_after\" must be true or false, not {reset_after!r}.")
    w = GRUWeights.from_fused(**arrays, reset_after=reset_after)
    if not (1 <= w.hidden_size <= MAX_HIDDEN and 1 <= w.input_size <= MAX_INPUT):
        raise WeightsError(f"These weights have hidden size {w.hidden_size} and input size "
                           f"{w.input_size}; the playground takes 1 to {MAX_HIDDEN} and "
                           f"1 to {MAX_INPUT}.")
    return w, _json_vocabulary(doc, w.input_size)


def _json_array(doc: dict, key: str) -> np.ndarray:
    if key not in doc:
        raise WeightsError(f"The weights file lacks {key!r}.")
    try:
        a = np.array(doc[key], dtype=np.float64)
    except (TypeError, ValueError, RecursionError):
        raise WeightsError(f"{key} must hold numbers in a rectangular list.") from None
    if not np.isfinite(a).all():
        raise WeightsError(f"{key} holds NaN or infinity; every weight must be finite.")
    return a


def _json_vocabulary(doc: dict, input_size: int) -> tuple[str, ...] | None:
    vocab = doc.get("vocabulary")
    if vocab is None:
        return None
    if not (isinstance(vocab, list) and all(isinstance(s, str) for s in vocab)
            and len(vocab) == input_size and len(set(vocab)) == len(vocab)):
        raise WeightsError("\"vocabulary\" must list input_size distinct strings.")
    return tuple(vocab)
