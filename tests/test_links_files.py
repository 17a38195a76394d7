"""Links files (``theory.file``) are checked from the zip directory and the ``.npy`` headers before any array
data is decompressed: a compressed "bomb", a pickle, a complex or mis-shaped array, an extra member are refused
in one line naming the file and the array (issue 9)."""

from __future__ import annotations

import io
import struct
import time
import zipfile
import zlib

import numpy as np
import pytest

from nnfield import cli
from nnfield.errors import InputError
from nnfield.lattice import Lattice
from nnfield.theories.gauge.links import U1Links

N = 16
LAT = Lattice((N,), 1.0)
BOMB_BYTES = 1_100_000_000  # what the bomb inflates to (1.1 GB)


def _npy_header(shape: tuple[int, ...], descr: str = "<f8") -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False, "shape": shape})
    return buf.getvalue()


def _write_bomb(path, header: bytes, zeros: int, name: str = "alpha.npy") -> None:
    """A valid zip archive whose one deflated member is ``header`` followed by ``zeros`` zero bytes (~1 KiB of
    file per MiB of data), built from one compressed 16 MiB block repeated (each block ends with a full flush,
    so the blocks are independent), without ever holding the inflated data."""
    block = bytes(1 << 24)
    n, rest = divmod(zeros, len(block))
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = comp.compress(header) + comp.flush(zlib.Z_FULL_FLUSH)
    body = comp.compress(block) + comp.flush(zlib.Z_FULL_FLUSH)
    tail = comp.compress(bytes(rest)) + comp.flush()
    data = head + body * n + tail
    crc = zlib.crc32(header)
    for _ in range(n):
        crc = zlib.crc32(block, crc)
    crc = zlib.crc32(bytes(rest), crc)
    size = len(header) + zeros
    assert size < 2**32  # no zip64 records needed
    fname = name.encode()
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, crc, len(data), size, len(fname), 0) + fname
    central = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0x21, crc, len(data), size, len(fname),
                          0, 0, 0, 0, 0, 0) + fname
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(central), len(local) + len(data), 0)
    path.write_bytes(local + data + central + end)


@pytest.fixture(scope="module")
def bombs(tmp_path_factory):
    """Two 1.1 GB bombs of about 1 MiB: one whose header declares the lattice's shape (the size gives it away),
    one whose header declares the inflated shape (the shape gives it away)."""
    d = tmp_path_factory.mktemp("bombs")
    good_header = _npy_header((1, N))
    right_shape = d / "right_shape.npz"
    _write_bomb(right_shape, good_header, BOMB_BYTES - len(good_header))
    big_header = _npy_header((1, BOMB_BYTES // 8))
    huge_shape = d / "huge_shape.npz"
    _write_bomb(huge_shape, big_header, (BOMB_BYTES // 8) * 8)
    return {"right_shape": right_shape, "huge_shape": huge_shape}


@pytest.mark.parametrize("kind, message", [
    ("right_shape", "makes it 256"),
    ("huge_shape", "has shape (1, 137500000); expected (1, 16)"),
])
def test_a_compressed_bomb_is_refused_in_milliseconds(bombs, kind, message):
    path = bombs[kind]
    assert path.stat().st_size < 1.2 * 2**20  # about 1 MiB on disk ...
    with zipfile.ZipFile(path) as zf:
        assert zf.infolist()[0].file_size > 10**9  # ... 1.1 GB inflated
    t0 = time.perf_counter()
    with pytest.raises(InputError, match="array 'alpha'") as err:
        U1Links.load(path, LAT)
    assert time.perf_counter() - t0 < 0.1
    assert message in str(err.value) and "\n" not in str(err.value)


def test_a_bomb_through_the_command_line_is_one_line_naming_theory_file(bombs, tmp_path, capsys):
    cfg = tmp_path / "f.toml"
    cfg.write_text(f"""
[theory]
name = "gauged-dirac"
field = "file"
file = "{bombs['right_shape']}"
[lattice]
shape = [{N}]
[time]
dt = 0.05
steps = 4
scheme = "alternating"
[initial]
kind = "gaussian_packet"
width = 2.0
""")
    out = tmp_path / "out"
    t0 = time.perf_counter()
    assert cli.main(["run", str(cfg), "--dry-run", "--out", str(out), "-q"]) == 2
    assert time.perf_counter() - t0 < 5  # (the first call imports the theory; the refusal itself is instant)
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nnfield: error:") and "theory.file" in lines[0], lines
    assert "uncompressed" in lines[0] and not out.exists()


def _savez(path, **arrays):
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize("arrays, message", [
    ({"alpha": np.array([[object()] * N], dtype=object)}, "object array (a pickle, never loaded)"),
    ({"alpha": np.zeros((1, N)) + 0.5j}, "is complex"),
    ({"alpha": np.zeros((1, N), dtype=np.int64)}, "of dtype '<i8'"),
    ({"alpha": np.zeros((1, N), dtype=bool)}, "of dtype '|b1'"),
    ({"alpha": np.array([["a"] * N])}, "of dtype '<U1'"),
    ({"alpha": np.zeros((1, N), dtype=[("x", "<f8")])}, "of dtype"),
    ({"alpha": np.zeros((1, N)), "alpha0": np.zeros(N + 1)}, "array 'alpha0' has shape (17,)"),
    ({"alpha": np.zeros((1, N)), "evil": np.zeros(3)}, "unexpected member 'evil.npy'"),
    ({"alpha0": np.zeros(N)}, "has no array 'alpha'"),
    ({"alpha": np.where(np.arange(N) == 3, np.nan, 0.0)[None]}, "1 NaN/Inf values"),
])
def test_bad_members_are_refused_with_one_line_naming_the_array(tmp_path, arrays, message):
    path = _savez(tmp_path / "links.npz", **arrays)
    with pytest.raises(InputError) as err:
        U1Links.load(path, LAT)
    text = str(err.value)
    assert message in text and str(path) in text and "\n" not in text, text


def test_object_arrays_are_never_unpickled(tmp_path, monkeypatch):
    import pickle

    path = _savez(tmp_path / "links.npz", alpha=np.array([[object()] * N], dtype=object))
    monkeypatch.setattr(pickle, "load", lambda *a, **k: pytest.fail("unpickled"))
    with pytest.raises(InputError, match="pickle"):
        U1Links.load(path, LAT)


def test_the_data_is_not_decompressed_before_the_headers_pass(tmp_path, monkeypatch):
    """A bad second member is found before the first member's data is read."""
    path = _savez(tmp_path / "links.npz", alpha=np.zeros((1, N)), alpha0=np.zeros((N, 2)))
    monkeypatch.setattr(np.lib.format, "read_array", lambda *a, **k: pytest.fail("data read before the checks"))
    with pytest.raises(InputError, match="'alpha0' has shape"):
        U1Links.load(path, LAT)


def test_duplicate_and_inconsistent_members_are_refused(tmp_path):
    path = tmp_path / "dup.npz"
    with zipfile.ZipFile(path, "w") as zf, pytest.warns(UserWarning, match="Duplicate name"):
        for _ in range(2):
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.zeros((1, N)))
            zf.writestr("alpha.npy", buf.getvalue())
    with pytest.raises(InputError, match="holds the array 'alpha' twice"):
        U1Links.load(path, LAT)
    short = tmp_path / "short.npz"
    with zipfile.ZipFile(short, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("alpha.npy", _npy_header((1, N)) + bytes(8 * N - 8))  # one value short
    with pytest.raises(InputError, match="uncompressed, but its header"):
        U1Links.load(short, LAT)


def test_good_files_still_load(tmp_path, rng):
    lat = Lattice((6, 4), 1.0)
    alpha = rng.standard_normal((2, 6, 4))
    for name, arrays in {
        "plain": {"alpha": alpha},
        "float32_fortran": {"alpha": np.asfortranarray(alpha.astype(np.float32)), "alpha0": np.ones((6, 4))},
    }.items():
        path = tmp_path / f"{name}.npz"
        np.savez_compressed(path, **arrays)
        links = U1Links.load(path, lat)
        assert np.allclose(np.asarray(links.alpha), arrays["alpha"])
        assert np.asarray(links.alpha).dtype == np.float64
    path = tmp_path / "pipe"
    import os

    os.mkfifo(path)
    with pytest.raises(InputError, match="not a regular file"):
        U1Links.load(path, lat)
