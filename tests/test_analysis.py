"""The analysis library against direct computations and constructed models."""

import numpy as np
import pytest

from gru_viz.analysis import units as an
from gru_viz.core.engine import run
from gru_viz.core.errors import InputError
from gru_viz.core.limits import Limits
from gru_viz.core.model import GRUModel
from gru_viz.core.notation import COURSE, PYTORCH
from tests.helpers import VOCAB, planted_model


def one_hot(text: str) -> np.ndarray:
    return VOCAB.one_hot(VOCAB.encode(text))


def test_saturation_fractions_equal_a_direct_count(rng):
    values = rng.uniform(0, 1, (50, 7)) ** 3
    sat = an.saturation(values, 0.1, 0.9)
    for u in range(7):
        assert sat.left[u] == sum(v < 0.1 for v in values[:, u]) / 50
        assert sat.right[u] == sum(v > 0.9 for v in values[:, u]) / 50


def test_saturation_and_histograms_skip_masked_steps(rng):
    values = rng.uniform(0, 1, (3, 10, 4))
    mask = rng.uniform(size=(3, 10)) < 0.6
    sat = an.saturation(values, 0.2, 0.7, mask)
    assert sat.steps == mask.sum()
    assert np.array_equal(sat.below, (values[mask] < 0.2).sum(0))
    hist = an.histograms(values, 0, 1, 5, mask)
    for u in range(4):
        assert np.array_equal(hist[u], np.histogram(values[mask][:, u], 5, (0, 1))[0])


def test_orderings_are_permutations_and_clustering_groups_correlated_units(rng):
    t = np.linspace(0, 6, 80)
    base = np.stack([np.sin(t), np.cos(3 * t)], 1)
    # units 0, 2, 4 follow the first signal, 1, 3, 5 the second, with noise
    values = base[:, [0, 1, 0, 1, 0, 1]] + 0.05 * rng.normal(size=(80, 6))
    for how in an.ORDERINGS:
        assert sorted(an.unit_order(values, how)) == list(range(6))
    order = an.unit_order(values, "cluster").tolist()
    halves = {frozenset(order[:3]), frozenset(order[3:])}
    assert halves == {frozenset({0, 2, 4}), frozenset({1, 3, 5})}
    assert an.unit_order(values, "variance")[0] == np.argmax(values.var(0))


def test_unit_search_finds_the_planted_unit():
    model, unit = planted_model(), 3
    text = "xxaxxybxxxayxbxx"
    h = run(model, one_hot(text)).layers[0][0].h
    a, b = text.index("a"), text.index("b")
    found = an.search_units(h, a, b, 0.5, below_outside=1)
    assert found.tolist() == [unit]
    spans = an.co_activation_spans(h, found, 0.5)
    assert spans == [(2, 6), (10, 13)]  # from each 'a' up to the step before the next 'b'
    # a per-unit percentile threshold finds it too
    thr = an.percentile_thresholds(h, 60)
    assert unit in an.search_units(h, a, b, thr, below_outside=1)


def test_unit_search_span_must_fit():
    with pytest.raises(ValueError):
        an.search_units(np.zeros((5, 2)), 3, 8, 0.5)


def test_expected_response_equals_a_direct_loop(rng):
    model = GRUModel.random(len(VOCAB), 5, seed=2)
    ids = rng.integers(0, len(VOCAB), 40)
    cell = run(model, VOCAB.one_hot(ids)).layers[0][0]
    resp = an.expected_response(cell.h, cell.h_prev, ids, len(VOCAB))
    h, prev = cell.h, np.vstack([np.zeros((1, 5)), cell.h[:-1]])
    for v in range(len(VOCAB)):
        steps = [t for t in range(40) if ids[t] == v]
        direct = np.mean([h[t] - prev[t] for t in steps], 0) if steps else np.zeros(5)
        np.testing.assert_allclose(resp.mean[:, v], direct, atol=1e-12)
        assert resp.counts[v] == len(steps)


def test_alignment_pairs_equal_tokens_and_edits():
    al = an.align("abcdef", "abXdef")
    assert al.a.tolist() == al.b.tolist() == list(range(6))
    assert np.flatnonzero(al.edited).tolist() == [2]
    al = an.align("abcdef", "abcZdef")  # an insertion is left out
    assert al.a.tolist() == [0, 1, 2, 3, 4, 5] and al.b.tolist() == [0, 1, 2, 4, 5, 6]
    assert not al.edited.any()
    assert an.align("", "ab").a.size == 0
    # difflib alone would call this a deletion and an insertion; by position it is one edit
    al = an.align("(([]))", "(([)))")
    assert al.a.tolist() == list(range(6)) and np.flatnonzero(al.edited).tolist() == [3]


def test_aligned_difference_is_zero_before_the_edit():
    model = GRUModel.random(len(VOCAB), 4, seed=1)
    ta, tb = "abxyab", "abyyab"
    ha, hb = (run(model, one_hot(t)).layers[0][0].h for t in (ta, tb))
    diff = an.aligned_difference(ha, hb, an.align(ta, tb))
    assert diff.shape == (6, 4)
    assert np.all(diff[:2] == 0) and np.abs(diff[2]).max() > 0


def test_correlate_matches_numpy_and_depth(rng):
    values = rng.normal(size=(30, 4))
    values[:, 3] = 1.0  # constant unit
    signal = rng.normal(size=30)
    r = an.correlate(values, signal)
    for u in range(3):
        assert r[u] == pytest.approx(np.corrcoef(values[:, u], signal)[0, 1])
    assert r[3] == 0
    assert an.nesting_depth("(()(x))").tolist() == [1, 2, 1, 2, 2, 1, 0]


def test_top_k_is_sorted_and_softmax_sums_to_one(rng):
    probs = an.softmax(rng.normal(size=(6, 9)))
    np.testing.assert_allclose(probs.sum(1), 1)
    ids, p = an.top_k(probs, 3)
    assert ids.shape == p.shape == (6, 3)
    assert np.all(np.diff(p, axis=1) <= 0)
    assert np.array_equal(p[:, 0], probs.max(1))


@pytest.mark.parametrize("bidirectional", [False, True])
def test_corpus_statistics_equal_those_of_single_runs(rng, bidirectional):
    model = GRUModel.random(len(VOCAB), 5, num_layers=2, bidirectional=bidirectional, seed=3)
    ids = [rng.integers(0, len(VOCAB), n) for n in (7, 9, 8, 7, 20, 3, 9)]
    xs = [VOCAB.one_hot(i) for i in ids]
    seen = []
    stats = an.corpus_stats(model, xs, ids, len(VOCAB), COURSE,
                            progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (7, 7) and len(seen) > 1
    singles = [run(model, x) for x in xs]
    for (k, d), cs in stats.items():
        cells = [tr.layers[k][d] for tr in singles]
        z = np.concatenate([1 - c.z for c in cells])  # course notation: Γu = 1 − z
        direct = an.saturation(z)
        assert np.array_equal(cs.saturation["z"].below, direct.below)
        assert np.array_equal(cs.saturation["z"].above, direct.above)
        h = np.concatenate([c.h for c in cells])
        assert np.array_equal(cs.histograms["h"], an.histograms(h, -1, 1))
        resp = sum((an.expected_response(c.h, c.h_prev, i, len(VOCAB))
                    for c, i in zip(cells[1:], ids[1:])),
                   an.expected_response(cells[0].h, cells[0].h_prev, ids[0], len(VOCAB)))
        np.testing.assert_allclose(cs.response.mean, resp.mean, atol=1e-5)  # float32 batches


def test_batches_group_similar_lengths():
    groups = an.batches([5, 50, 6, 5, 51, 100], max_batch=2)
    assert sorted(np.concatenate(groups).tolist()) == list(range(6))
    lengths = np.array([5, 50, 6, 5, 51, 100])
    for g in groups:
        assert len(g) <= 2 and lengths[g].max() <= 1.25 * lengths[g].min()
    lengths = np.array([5, 6, 5, 6])
    exact = an.batches(lengths, exact=True)
    assert all(len(set(lengths[g].tolist())) == 1 for g in exact) and len(exact) == 2


def test_corpus_matches_find_the_planted_unit_in_every_sequence():
    model = planted_model()
    texts = ["xaxxbx", "yyyy", "axbxxaxxxx", "xxxab"]
    matches = an.corpus_matches(model, [one_hot(t) for t in texts], 0, 0, "h", [3], 0.5,
                                PYTORCH)
    got = {(m.seq, m.start, m.stop) for m in matches}
    assert got == {(0, 1, 4), (2, 0, 2), (2, 5, 10), (3, 3, 4)}
    assert matches[0] == an.Match(2, 5, 10)  # longest first


def test_corpus_matches_of_low_values_use_the_sign():
    model = planted_model()  # unit 3 holds −1 from each 'b' until the next 'a'
    texts = ["xbxxax", "axxbxx"]
    matches = an.corpus_matches(model, [one_hot(t) for t in texts], 0, 0, "h", [3], 0.5,
                                PYTORCH, sign=-1.0)
    assert {(m.seq, m.start, m.stop) for m in matches} == {(0, 1, 4), (1, 3, 6)}


def test_a_corpus_sequence_over_the_step_limit_runs_in_segments_as_one_run(rng):
    """The Explorer's corpus reads a whole text as one sequence: longer than the server's
    step limit, it runs in segments carrying the state, with the numbers of one run."""
    model = GRUModel.random(len(VOCAB), 5, num_layers=2, seed=4)
    ids = [rng.integers(0, len(VOCAB), n) for n in (23, 5, 17)]
    xs = [VOCAB.one_hot(i) for i in ids]
    short = Limits(max_steps=7)
    whole = an.corpus_stats(model, xs, ids, len(VOCAB), COURSE)
    seen = []
    cut = an.corpus_stats(model, xs, ids, len(VOCAB), COURSE, limits=short,
                          progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (4 + 1 + 3, 8)  # segments of 7 steps
    for key, cs in whole.items():
        for g in cs.saturation:
            assert np.array_equal(cut[key].saturation[g].below, cs.saturation[g].below)
            assert np.array_equal(cut[key].saturation[g].above, cs.saturation[g].above)
        for f in cs.histograms:
            assert np.array_equal(cut[key].histograms[f], cs.histograms[f])
        np.testing.assert_allclose(cut[key].response.sums, cs.response.sums, atol=1e-5)
        assert np.array_equal(cut[key].response.counts, cs.response.counts)
    h = run(model, xs[0]).layers[1][0].h
    thr = float(np.median(h[:, 2]))
    args = (model, xs, 1, 0, "h", [2], thr, PYTORCH)
    assert an.corpus_matches(*args, limits=short) == an.corpus_matches(*args)
    assert any(m.start < 7 < m.stop or m.start < 14 < m.stop
               for m in an.corpus_matches(*args) if m.seq == 0)  # spans cross segments
    with pytest.raises(InputError, match="GRUVIZ_MAX_STEPS"):  # a reverse direction needs
        an.corpus_stats(GRUModel.random(len(VOCAB), 3, bidirectional=True, seed=1),  # all
                        xs, ids, len(VOCAB), limits=short)
