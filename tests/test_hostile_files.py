"""Hostile checkpoint files: none runs code, none exhausts memory or hangs; each gets its message.

Files are crafted by hand (a torch zip is a zip of ``data.pkl`` plus one raw record per
storage), so that they can declare what torch.save would never write. The cases that could
take the machine down when the loader has a bug run in a subprocess with an address-space cap
and a timeout, and report how much the loader's peak memory grew.
"""

from __future__ import annotations

import collections
import io
import json
import os
import pickle
import resource
import signal
import struct
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors.torch import save as st_save

from gru_viz.core.engine import run
from gru_viz.core.errors import CheckpointError, GRUVizError
from gru_viz.io.checkpoint import load_checkpoint
from tests.helpers import saved
from tests.torch_helpers import torch_gru

GREW_MB = 150  # a refused file may cost the loader at most this much memory


# --- crafting torch files ----------------------------------------------------------------------

class Storage:
    """Pickled as torch.save's persistent id: ('storage', type, record key, device, numel)."""

    def __init__(self, key: str, numel: int):
        self.key, self.numel = key, numel


class TensorRef:
    """Pickled as torch.save pickles a tensor: _rebuild_tensor_v2 on a storage."""

    def __init__(self, storage: Storage, size: tuple[int, ...], stride: tuple[int, ...]):
        self.storage, self.size, self.stride = storage, size, stride

    def __reduce__(self):
        return (torch._utils._rebuild_tensor_v2,
                (self.storage, 0, self.size, self.stride, False, collections.OrderedDict()))


class _Pickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            return ("storage", torch.FloatStorage, obj.key, "cpu", obj.numel)
        return None


def pickled(obj) -> bytes:
    buf = io.BytesIO()
    _Pickler(buf, protocol=2).dump(obj)
    return buf.getvalue()


def torch_zip(pkl: bytes, records: dict[str, bytes], *, compress: int = zipfile.ZIP_STORED,
              members: dict[str, bytes] | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compress) as z:
        for name, data in (members if members is not None else {
                "archive/data.pkl": pkl, "archive/byteorder": b"little",
                "archive/version": b"3\n"}).items():
            z.writestr(name, data)
        for key, data in records.items():
            z.writestr(f"archive/data/{key}", data)
    return buf.getvalue()


def gru_refs(I: int, H: int) -> tuple[dict[str, TensorRef], dict[str, bytes]]:
    """A complete nn.GRU state dict (layer 0) as crafted tensors, and its records."""
    shapes = {"weight_ih_l0": (3 * H, I), "weight_hh_l0": (3 * H, H),
              "bias_ih_l0": (3 * H,), "bias_hh_l0": (3 * H,)}
    refs, records = {}, {}
    for i, (k, shape) in enumerate(shapes.items()):
        n = int(np.prod(shape))
        stride = (shape[1], 1) if len(shape) == 2 else (1,)
        refs[k] = TensorRef(Storage(str(i), n), shape, stride)
        records[str(i)] = np.full(n, 0.1, "<f4").tobytes()
    return refs, records



def outcome(data, **kw) -> str:
    """'result', 'error: <message>' (refused by the loader) or 'run error: <message>' (loaded,
    and the run says why it cannot run); anything else raises and fails the test."""
    try:
        ckpt = load_checkpoint(data, **kw)
    except GRUVizError as exc:
        return f"error: {exc}"
    try:  # what loads must run, or say why not
        run(ckpt.model, np.ones((2, ckpt.model.input_size)))
    except GRUVizError as exc:
        return f"run error: {exc}"
    return "result"


# --- the risky cases, in a subprocess --------------------------------------------------------

def _status(field: str) -> int:
    """A /proc/self/status entry in bytes (VmHWM: peak resident memory; VmSize: address space)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(field)


def _child(path: Path) -> dict:
    # an address-space cap as the machine's safety net, far above what GREW_MB allows
    cap = _status("VmSize") + 3 * 2**30
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    Path("/proc/self/clear_refs").write_text("5")  # restart the peak from here (Linux ≥ 4.0)
    before = _status("VmHWM")
    try:
        load_checkpoint(path)
        out = {"kind": "result"}
    except GRUVizError as exc:
        out = {"kind": "error", "message": str(exc)}
    except BaseException as exc:
        out = {"kind": type(exc).__name__, "message": str(exc)[:300]}
    return out | {"grew_mb": max(0, _status("VmHWM") - before) / 2**20}


def load_isolated(path: Path, timeout: float = 5.0) -> dict:
    """Load in a forked child (torch already imported): its outcome and memory growth.

    A child that outlives ``timeout`` is killed and reported as a hang.
    """
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        try:
            os.close(read)
            os.write(write, json.dumps(_child(path)).encode())
        finally:
            os._exit(0)
    os.close(write)
    deadline = time.monotonic() + timeout
    while os.waitpid(pid, os.WNOHANG) == (0, 0):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os.close(read)
            return {"kind": "hang", "message": f"no answer within {timeout:g} s", "grew_mb": 0}
        time.sleep(0.02)
    with os.fdopen(read) as f:
        text = f.read()
    assert text, "the loading process died without an answer"
    return json.loads(text)


def assert_refused_cheaply(out: dict, match: str) -> None:
    assert out["grew_mb"] < GREW_MB, f"reading it took {out['grew_mb']:.0f} MB: {out}"
    assert out["kind"] == "error", out
    assert match in out["message"], out["message"]


def test_zip_bomb_is_not_inflated(tmp_path):
    """256 kB on disk, a 256 MB storage once inflated (over the 200 MB cap)."""
    n = 2**26  # float32 elements
    path = tmp_path / "bomb.pt"
    refs = {"weight_ih_l0": TensorRef(Storage("0", n), (n,), (1,))}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("archive/data.pkl", pickled(refs))
        z.writestr("archive/version", b"3\n")
        with z.open("archive/data/0", "w") as member:
            for _ in range(n * 4 // 2**24):
                member.write(bytes(2**24))
    assert path.stat().st_size < 2**20
    assert_refused_cheaply(load_isolated(path), "MB")


def test_expanded_tensor_declaring_huge_size_is_not_materialized(tmp_path):
    """A complete GRU whose input weights are a 600 MB view (stride 0) of one float."""
    refs, records = gru_refs(I=1, H=2)
    refs["weight_ih_l0"] = TensorRef(Storage("9", 1), (6, 25_000_000), (0, 0))
    records["9"] = np.zeros(1, "<f4").tobytes()
    path = tmp_path / "expanded.pt"
    path.write_bytes(torch_zip(pickled(refs), records))
    assert path.stat().st_size < 4096
    assert_refused_cheaply(load_isolated(path), "MB")


def _laughs() -> dict:
    """40 levels of dicts whose two entries are the same dict: 2⁴⁰ paths in a 1 kB file."""
    d: dict = {"leaf": 1}
    for _ in range(40):
        d = {"x": d, "y": d}
    return d


def _wrapper_cycle() -> dict:
    """A 'state_dict' entry that is the dict itself: unwrapping never ends."""
    d: dict = {}
    d["state_dict"] = d
    return d


@pytest.mark.parametrize("make", [_laughs, _wrapper_cycle], ids=["shared dicts", "cycle"])
def test_container_bombs_do_not_hang(tmp_path, make):
    path = tmp_path / "bomb.pt"
    path.write_bytes(torch_zip(pickled(make()), {}))
    out = load_isolated(path)
    assert out["kind"] == "error", out
    assert out["grew_mb"] < GREW_MB


def test_file_far_over_the_size_cap_is_not_read(tmp_path):
    path = tmp_path / "huge.pt"
    with open(path, "wb") as f:  # sparse: 64 GB that take no disk
        f.write(b"PK\x03\x04")
        f.truncate(64 * 2**30)
    assert_refused_cheaply(load_isolated(path), "over the limit")


def test_bytes_over_the_size_cap(monkeypatch):
    monkeypatch.setenv("GRUVIZ_MAX_UPLOAD_MB", "1")
    data = saved(torch_gru(3, 4).state_dict()) + bytes(2 * 2**20)
    with pytest.raises(CheckpointError, match="over the limit of 1 MB.*GRUVIZ_MAX_UPLOAD_MB"):
        load_checkpoint(data)


# --- code that would run ---------------------------------------------------------------------

class RunsCode:
    """Unpickling this executes Python that creates a marker file."""

    path = ""

    def __reduce__(self):
        return (exec, (f"open({self.path!r}, 'w').close()",))


class RunsShell(RunsCode):
    def __reduce__(self):
        return (os.system, (f"touch {self.path}",))


@pytest.mark.parametrize("payload", [RunsCode, RunsShell])
@pytest.mark.parametrize("pack", ["torch zip", "torch zip, inside a state dict", "pickle",
                                  "pickle protocol 0"])
def test_code_in_a_pickle_never_runs(tmp_path, payload, pack):
    marker = tmp_path / "code_ran"
    payload.path = str(marker)
    evil = payload()
    data = {"torch zip": lambda: torch_zip(pickled(evil), {}),
            "torch zip, inside a state dict": lambda: torch_zip(
                pickled({"weight_ih_l0": [evil]}), {}),
            "pickle": lambda: pickle.dumps(evil),
            "pickle protocol 0": lambda: pickle.dumps(evil, protocol=0)}[pack]()
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(data)
    assert not marker.exists()
    message = str(info.value)
    if pack.startswith("torch"):
        assert "needs Python code to load" in message and "state_dict()" in message
    else:  # binary and text (protocol 0) pickles are recognised by their opcodes
        assert "runs code when read" in message
    pickle.loads(pickle.dumps(evil))  # control: the payload does run code when unpickled
    assert marker.exists()


# --- lying structure -------------------------------------------------------------------------

def test_storage_declaring_more_than_its_record():
    refs = {"w": TensorRef(Storage("0", 2**40), (3,), (1,))}
    message = outcome(torch_zip(pickled(refs), {"0": bytes(12)}))
    assert message.startswith("error:") and "record size" in message


def test_tensor_larger_than_its_storage():
    refs = {"w": TensorRef(Storage("0", 3), (10**6, 10**6), (10**6, 1))}
    assert outcome(torch_zip(pickled(refs), {"0": bytes(12)})).startswith("error:")


def test_self_referencing_state_dict():
    d: dict = {}
    d["self"] = d
    assert outcome(torch_zip(pickled(d), {})).startswith("error:")


def test_self_referencing_description_of_our_own_format():
    refs, records = gru_refs(I=2, H=3)
    description: dict = {}
    description["again"] = description
    data = torch_zip(pickled({"format": "gru-viz", "state_dict": refs,
                              "description": description}), records)
    message = outcome(data)
    assert message.startswith("error:") and "cyclic or nested too deeply" in message


def test_deeply_nested_description_of_our_own_format():
    refs, records = gru_refs(I=2, H=3)
    pkl = pickled({"format": "gru-viz", "state_dict": refs, "description": "DEEP"})
    # 100 000 nested lists, built by opcodes (EMPTY_LIST … APPEND …) in place of the string
    deep = b"]" * 100_000 + b"a" * 99_999
    data = torch_zip(pkl.replace(b"X\x04\x00\x00\x00DEEP", deep), records)
    message = outcome(data)
    assert message.startswith("error:") and "cyclic or nested too deeply" in message


def _with_members(**changes: bytes | None) -> bytes:
    refs, records = gru_refs(I=2, H=3)
    members = {"archive/data.pkl": pickled(refs), "archive/byteorder": b"little",
               "archive/version": b"3\n"} | {f"archive/data/{k}": v for k, v in records.items()}
    for name, data in changes.items():
        name = name.replace("__", "/").replace("_dot_", ".")
        if data is None:
            members.pop(name)
        else:
            members[name] = data
    return torch_zip(b"", {}, members=members)


@pytest.mark.parametrize("data", [
    _with_members(archive__data_dot_pkl=None),
    _with_members(archive__data__0=None),
    _with_members(archive__data__0=b"short"),
    _with_members(archive__data_dot_pkl=b"not a pickle at all"),
    _with_members(archive__data_dot_pkl=pickle.dumps({"w": 1}, protocol=2)[:-1]),  # no STOP
    _with_members(archive__version=b"999\n"),
    torch_zip(b"", {}, members={"other/data.pkl": pickled(gru_refs(2, 3)[0])}),
    torch_zip(b"", {}, members={}),
], ids=["no data.pkl", "missing record", "short record", "not a pickle", "no STOP",
        "future version", "wrong folder", "empty zip"])
def test_zips_with_wrong_members(data):
    assert outcome(data).startswith("error:")


def test_a_crafted_gru_loads_and_extra_members_are_ignored():
    """Control: the crafting helpers make a file the loader accepts; torch extracts nothing,
    so an extra member, even one named to escape a folder, is never written anywhere."""
    for data in (torch_zip(pickled(gru_refs(2, 3)[0]), gru_refs(2, 3)[1]),
                 _with_members(**{"archive__.._.._evil": b"x"})):
        ckpt = load_checkpoint(data)
        assert ckpt.model.hidden_size == 3 and ckpt.model.input_size == 2


def _safetensors() -> tuple[dict, bytes]:
    data = st_save({k: v.float().contiguous() for k, v in torch_gru(2, 3).state_dict().items()})
    (n,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8:8 + n]), data[8 + n:]


def _header(header, body: bytes) -> bytes:
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + body


def _lie(field: str, value) -> bytes:
    header, body = _safetensors()
    header["weight_hh_l0"] = dict(header["weight_hh_l0"], **{field: value})
    return _header(header, body)


def _overlapping() -> bytes:
    header, body = _safetensors()
    for k, v in header.items():
        if k != "__metadata__":
            v["data_offsets"] = [0, v["data_offsets"][1] - v["data_offsets"][0]]
    return _header(header, body)


@pytest.mark.parametrize("data", [
    _lie("shape", [10**6, 10**6]),
    _lie("shape", [-1, 3]),
    _lie("data_offsets", [0, 10**12]),
    _lie("data_offsets", [48, 12]),
    _lie("dtype", "F8_E4M3"),
    _lie("dtype", "NOPE"),
    _overlapping(),
    struct.pack("<Q", 2**63) + _header({}, b"")[8:],
    struct.pack("<Q", 5) + _lie("shape", [9, 3])[8:],
    _header({"__metadata__": {"a": {"b": 1}}}, b""),
    _header(b'{"x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", b""),
    _header(b'{"x": "' + b"\xff" * 50 + b'"}', b""),
], ids=["huge shape", "negative shape", "offsets beyond", "reversed offsets", "float8",
        "unknown dtype", "overlapping", "length too big", "length too small",
        "metadata not strings", "deep json", "not utf-8"])
def test_safetensors_header_lying(data):
    assert outcome(data).startswith("error:")


@pytest.mark.parametrize("dtype", [torch.int64, torch.bool, torch.uint8, torch.float16,
                                   torch.bfloat16, torch.float64])
def test_odd_but_valid_dtypes_load_and_run(dtype):
    """Each loads as floats holding the file's values and runs to finite states."""
    sd = {k: v.to(dtype) for k, v in torch_gru(2, 3).state_dict().items()}
    assert outcome(saved(sd)) == "result"
    ckpt = load_checkpoint(saved(sd))
    assert ckpt.model.dtype.kind == "f"
    got = ckpt.model.state_dict()
    for k, v in sd.items():
        assert np.array_equal(got[k].astype(np.float64), v.double().numpy()), k
    assert np.isfinite(run(ckpt.model, np.ones((2, 2))).output).all()


# --- property-based: random and mutated bytes ------------------------------------------------

VALID_TORCH = saved(torch_gru(2, 3).state_dict())
VALID_SAFETENSORS = _header(*_safetensors())
FUZZ = settings(max_examples=120, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(prefix=st.sampled_from([b"", b"PK\x03\x04", b"\x80\x02", VALID_SAFETENSORS[:8]]),
       body=st.binary(max_size=2048))
def test_random_bytes(prefix, body):
    outcome(prefix + body)


@FUZZ
@given(base=st.sampled_from([VALID_TORCH, VALID_SAFETENSORS]),
       edits=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)),
                      min_size=1, max_size=8),
       cut=st.none() | st.floats(0, 1))
def test_mutated_valid_checkpoints(base, edits, cut):
    data = bytearray(base)
    for where, value in edits:
        data[int(where * len(data))] = value
    if cut is not None:
        data = data[: int(cut * len(data))]
    outcome(bytes(data))


def test_a_description_that_expands_exponentially_is_refused(tmp_path):
    """Shared sub-dicts at each of 40 levels: 2**40 paths when written out as JSON."""
    node: dict = {"leaf": "x" * 10}
    for _ in range(40):
        node = {"a": node, "b": node}
    gru = torch.nn.GRU(2, 3)
    container = {"format": "gru-viz", "format_version": 1, "description": node,
                 "state_dict": gru.state_dict()}
    path = tmp_path / "expands.pt"
    torch.save(container, path)
    with pytest.raises(CheckpointError, match="description expands to over 1 MB"):
        load_checkpoint(path)


def test_a_huge_vocabulary_neither_stalls_nor_is_used():
    from gru_viz.io.inputs import Vocabulary

    symbols = tuple(str(i) for i in range(200_000))
    assert len(Vocabulary(symbols)) == 200_000  # linear, not quadratic
    with pytest.raises(GRUVizError, match="twice"):
        Vocabulary(symbols + ("7",))


def test_many_views_of_one_storage_are_refused_before_torch_unpickles_them(monkeypatch):
    """One-element views of one storage, twice the default limit (the attack had 200,000: a
    15 MB file torch.load takes half a minute to rebuild): the loader counts the pickle's
    tensors first, stops at the limit, and never calls torch.load."""
    one = Storage("0", 4)
    refs = {f"t{i}": TensorRef(one, (1,), (1,)) for i in range(20_000)}
    data = torch_zip(pickled(refs), {"0": np.zeros(4, "<f4").tobytes()})
    called = []
    monkeypatch.setattr(torch, "load", lambda *a, **k: called.append(a) or {})
    with pytest.raises(CheckpointError, match=r"more than 10000 tensors \(GRUVIZ_MAX_TENSORS\)"):
        load_checkpoint(data)
    assert called == []


def _gru_files() -> dict[str, bytes]:
    sd = torch_gru(2, 3).state_dict()  # 4 tensors
    legacy = io.BytesIO()
    torch.save(sd, legacy, _use_new_zipfile_serialization=False)
    return {"zip": saved(sd), "legacy": legacy.getvalue(),
            "safetensors": st_save({k: v.contiguous() for k, v in sd.items()})}


@pytest.mark.parametrize("kind", ["zip", "legacy", "safetensors"])
def test_the_tensor_count_limit_is_exact_in_every_torch_format(monkeypatch, kind):
    data = _gru_files()[kind]
    monkeypatch.setenv("GRUVIZ_MAX_TENSORS", "4")
    assert load_checkpoint(data).model.hidden_size == 3
    monkeypatch.setenv("GRUVIZ_MAX_TENSORS", "3")
    with pytest.raises(CheckpointError, match="more than 3 tensors"):
        load_checkpoint(data)


def test_a_pickle_of_too_many_records_is_refused_before_torch_unpickles_it(monkeypatch):
    """Few tensors, but a million-entry list beside them: the record count bounds it."""
    refs, records = gru_refs(2, 3)
    data = torch_zip(pickled(dict(refs, notes=list(range(200_000)))), records)
    monkeypatch.setenv("GRUVIZ_MAX_TENSORS", "1000")  # 100,000 records
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("torch.load was called"))
    with pytest.raises(CheckpointError, match="more than 100000 pickle records"):
        load_checkpoint(data)
