"""The CIFAR-10 python batch reader, on small batch files in the same pickle format."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from neurosim.cli import main
from neurosim.data.datasets import CIFAR_FILES, clear_cache, load_dataset, read_cifar_batch
from neurosim.errors import DataError


def write_batches(root: Path, n: int = 12, n_test: int = 8, seed: int = 0) -> dict:
    """The six files as the CIFAR-10 site ships them: pickled dicts with byte keys."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    written = {}
    for i, name in enumerate(CIFAR_FILES):
        m = n_test if name == "test_batch" else n
        data = rng.integers(0, 256, (m, 3072), dtype=np.uint8)
        labels = [int(v) for v in rng.integers(0, 10, m)]
        d = {b"batch_label": f"batch {i}".encode(), b"labels": labels, b"data": data,
             b"filenames": [f"img{j}.png".encode() for j in range(m)]}  # fmt: skip
        (root / name).write_bytes(pickle.dumps(d, protocol=2))
        written[name] = (data, labels)
    return written


@pytest.fixture(autouse=True)
def _fresh():
    clear_cache()
    yield
    clear_cache()


def test_reads_the_six_batches_in_order(tmp_path: Path) -> None:
    w = write_batches(tmp_path / "cifar-10-batches-py")
    ds = load_dataset("cifar10", tmp_path)  # the parent of cifar-10-batches-py works
    assert ds.x_train.shape == (60, 3072) and ds.x_test.shape == (8, 3072)
    assert ds.image_shape == (3, 32, 32) and ds.n_classes == 10 and not ds.signed
    train = np.concatenate([w[f"data_batch_{i}"][0] for i in range(1, 6)])
    np.testing.assert_array_equal(ds.x_train, train.astype(np.float32) / 256)
    np.testing.assert_array_equal(ds.y_test, np.array(w["test_batch"][1]))
    # channel-major rows: the first 1024 values are the red plane of a 32x32 image
    img = ds.x_train[0].reshape(ds.image_shape)
    assert img[0, 0, 1] == train[0, 1] / 256 and img[1, 0, 0] == train[0, 1024] / 256


def test_a_dense_net_trains_on_it(tmp_path: Path, capsys) -> None:
    write_batches(tmp_path, n=40)
    argv = ["train", "--data", "cifar10", "--data-dir", str(tmp_path), "--hidden", "8",
            "--epochs", "1", "--no-progress", "--mode", "fixed"]  # fmt: skip
    assert main(argv) == 0
    assert "cifar10 (200 train, 8 test), net 3072-8-10" in capsys.readouterr().out


def _write(path: Path, obj, raw: bytes | None = None) -> None:
    path.write_bytes(raw if raw is not None else pickle.dumps(obj, protocol=2))


class Boom:
    def __reduce__(self):
        return (os.system, ("echo never",))


@pytest.mark.parametrize(
    "obj, raw, match",
    [
        (None, b"not a pickle", "not a CIFAR-10 python batch"),
        (Boom(), None, "refusing to load"),
        ([1, 2], None, "a list"),
        ({b"labels": [1]}, None, "no 'data' entry"),
        ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [1]}, None, "2 images but 1"),
        ({b"data": np.zeros((2, 1024), np.uint8), b"labels": [1, 2]}, None, r"\(N, 3072\)"),
        ({b"data": np.zeros((2, 3072), np.float32), b"labels": [1, 2]}, None, "uint8"),
        ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [1, 12]}, None, "label 12"),
    ],
    ids=["junk", "os.system", "list", "no data", "count", "shape", "dtype", "label"],
)
def test_bad_batch_files(tmp_path: Path, obj, raw, match) -> None:
    p = tmp_path / "data_batch_1"
    _write(p, obj, raw)
    with pytest.raises(DataError, match=match):
        read_cifar_batch(p)


def test_missing_files_say_where_and_how(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.delenv("NEUROSIM_DATA", raising=False)
    write_batches(tmp_path)
    (tmp_path / "test_batch").unlink()
    with pytest.raises(DataError, match=r"missing test_batch.*cs\.toronto\.edu"):
        load_dataset("cifar10", tmp_path)
    argv = ["train", "--data", "cifar10", "--data-dir", str(tmp_path)]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cifar10" in err[0]
