"""Tests of neurosim.data.datasets: real data loaders and the IDX / CSV readers."""

from __future__ import annotations

import gzip
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurosim.data import datasets as data
from neurosim.data.datasets import DATASETS, Dataset, load_dataset, read_idx, search_dirs
from neurosim.data.mnist5k import read_mnist5k_csv
from neurosim.errors import ConfigError, DataError

FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
IDX_NAMES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


# ------------------------------------------------------------------ helpers


def idx_bytes(arr: np.ndarray, type_code: int = 0x08) -> bytes:
    header = bytes([0, 0, type_code, arr.ndim])
    header += b"".join(int(n).to_bytes(4, "big") for n in arr.shape)
    return header + np.ascontiguousarray(arr, dtype=np.uint8).tobytes()


def write_file(path: Path, payload: bytes, compress: bool) -> Path:
    path.write_bytes(gzip.compress(payload) if compress else payload)
    return path


def write_fake_mnist(
    folder: Path,
    n_train: int = 20,
    n_test: int = 5,
    seed: int = 1,
    overrides: dict[str, np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """Write the four IDX files (train part gzipped, test part plain)."""
    rng = np.random.default_rng(seed)
    arrays = {
        "train_images": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train_labels": rng.integers(0, 10, n_train, dtype=np.uint8),
        "test_images": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "test_labels": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    arrays.update(overrides or {})
    folder.mkdir(parents=True, exist_ok=True)
    for role, arr in arrays.items():
        compress = role.startswith("train")
        name = IDX_NAMES[role] + (".gz" if compress else "")
        write_file(folder / name, idx_bytes(arr), compress)
    return arrays


def csv_text(rows: list[list[int]]) -> bytes:
    return "".join(",".join(str(v) for v in row) + "\n" for row in rows).encode()


def good_rows(n: int = 3) -> list[list[int]]:
    rng = np.random.default_rng(7)
    return [[*rng.integers(0, 256, 784).tolist(), i % 10] for i in range(n)]


def row_keys(x: np.ndarray) -> list[bytes]:
    return [row.tobytes() for row in np.ascontiguousarray(x)]


@pytest.fixture
def no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(data.ENV_VAR, raising=False)


# ------------------------------------------------------------------ mnist5k


@pytest.fixture(scope="module")
def mnist5k() -> Dataset:
    return load_dataset("mnist5k")


def test_mnist5k_shapes_dtypes_and_range(mnist5k: Dataset) -> None:
    d = mnist5k
    assert d.name == "mnist5k" and d.n_classes == 10 and d.n_features == 784
    assert d.x_train.shape == (4000, 784) and d.x_test.shape == (1000, 784)
    assert d.y_train.shape == (4000,) and d.y_test.shape == (1000,)
    for x in (d.x_train, d.x_test):
        assert x.dtype == np.float32 and x.flags.c_contiguous
        assert x.min() >= 0.0 and x.max() < 1.0
        assert x.max() == np.float32(255 / 256)
        scaled = x.astype(np.float64) * 256
        assert np.array_equal(scaled, np.round(scaled))  # exact multiples of 1/256
    for y in (d.y_train, d.y_test):
        assert y.dtype == np.int64
        assert set(np.unique(y).tolist()) == set(range(10))
    assert d.source.endswith("mnist_5k.csv.gz") and Path(d.source).is_file()


def test_mnist5k_is_default_and_cached_read_only(mnist5k: Dataset) -> None:
    assert DATASETS[0] == "mnist5k"
    assert load_dataset("MNIST5K") is mnist5k
    for arr in (mnist5k.x_train, mnist5k.y_train, mnist5k.x_test, mnist5k.y_test):
        assert not arr.flags.writeable
        with pytest.raises(ValueError):
            arr[0] = 0


def test_mnist5k_split_is_a_seeded_partition_of_the_file(mnist5k: Dataset) -> None:
    pixels, labels = read_mnist5k_csv(mnist5k.source)
    assert pixels.shape == (5000, 784) and labels.shape == (5000,)
    all_rows = row_keys(pixels.astype(np.float32) / 256)
    assert len(set(all_rows)) == 5000  # every image in the file is distinct
    label_of = dict(zip(all_rows, labels.tolist(), strict=True))

    train, test = row_keys(mnist5k.x_train), row_keys(mnist5k.x_test)
    assert not set(train) & set(test)  # disjoint
    assert sorted(train + test) == sorted(all_rows)  # together: the whole file
    assert [label_of[k] for k in train] == mnist5k.y_train.tolist()
    assert [label_of[k] for k in test] == mnist5k.y_test.tolist()

    perm = np.random.default_rng(0).permutation(5000)
    assert train == [all_rows[i] for i in perm[:4000]]


def test_mnist5k_split_depends_only_on_seed(mnist5k: Dataset) -> None:
    data.clear_cache()
    again = load_dataset("mnist5k", seed=0)
    assert again is not mnist5k
    assert np.array_equal(again.x_train, mnist5k.x_train)
    assert np.array_equal(again.y_test, mnist5k.y_test)
    other = load_dataset("mnist5k", seed=1)
    assert not np.array_equal(other.x_train, mnist5k.x_train)
    assert not np.array_equal(other.y_train, mnist5k.y_train)
    assert sorted(row_keys(other.x_train) + row_keys(other.x_test)) == sorted(
        row_keys(mnist5k.x_train) + row_keys(mnist5k.x_test)
    )


@pytest.mark.parametrize("seed", [-1, 1.5, True, "0"])
def test_bad_seed_is_rejected(seed: object) -> None:
    with pytest.raises(ConfigError):
        load_dataset("mnist5k", seed=seed)  # type: ignore[arg-type]


# ------------------------------------------------------------------ digits


def test_digits_shapes_and_range() -> None:
    d = load_dataset("digits", seed=3)
    assert d.x_train.shape == (1437, 64) and d.x_test.shape == (360, 64)
    assert d.y_train.shape == (1437,) and d.y_test.shape == (360,)
    assert d.x_train.dtype == np.float32 and d.y_train.dtype == np.int64
    assert d.n_classes == 10 and d.n_features == 64
    for x in (d.x_train, d.x_test):
        assert x.min() == 0.0 and x.max() == 0.5  # 16 / 32
        assert np.array_equal(x * 32, np.round(x * 32))
    assert set(np.unique(d.y_train).tolist()) == set(range(10))
    assert not np.array_equal(load_dataset("digits", seed=4).y_train, d.y_train)


# ------------------------------------------------------------------ read_idx


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("shape", [(7,), (3, 4, 5), (0, 28, 28)])
def test_read_idx_round_trip(tmp_path: Path, compress: bool, shape: tuple[int, ...]) -> None:
    arr = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    # Compression is detected from the content: the name never says ".gz".
    path = write_file(tmp_path / "file-idx-ubyte", idx_bytes(arr), compress)
    out = read_idx(path)
    assert out.dtype == np.uint8 and out.shape == shape
    assert np.array_equal(out, arr)


@settings(max_examples=25, deadline=None)
@given(
    shape=st.lists(st.integers(0, 5), min_size=1, max_size=4),
    compress=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_read_idx_round_trip_property(shape: list[int], compress: bool, seed: int) -> None:
    arr = np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)
    with tempfile.TemporaryDirectory() as tmp:
        path = write_file(Path(tmp) / "x.idx", idx_bytes(arr), compress)
        assert np.array_equal(read_idx(path), arr)


@pytest.mark.parametrize("compress", [False, True])
def test_read_idx_truncated(tmp_path: Path, compress: bool) -> None:
    payload = idx_bytes(np.zeros((4, 3, 3), np.uint8))[:-5]
    path = write_file(tmp_path / "short-images-idx3-ubyte", payload, compress)
    with pytest.raises(DataError, match="short-images-idx3-ubyte") as err:
        read_idx(path)
    assert "36" in str(err.value) and "31" in str(err.value)  # expected vs actual bytes


def test_read_idx_trailing_bytes(tmp_path: Path) -> None:
    path = write_file(tmp_path / "long.idx", idx_bytes(np.zeros(4, np.uint8)) + b"\0", False)
    with pytest.raises(DataError, match="long.idx.*trailing"):
        read_idx(path)


@pytest.mark.parametrize(
    "payload",
    [
        b"\x01\x00\x08\x01\x00\x00\x00\x01\x05",  # magic does not start with 00 00
        b"PK\x03\x04 not an idx file at all",
        b"\x00\x00",  # too short
        b"\x00\x00\x08\x03\x00\x00\x00\x01",  # header cut inside the dims
        b"\x00\x00\x08\x00",  # zero dimensions
    ],
)
def test_read_idx_bad_header(tmp_path: Path, payload: bytes) -> None:
    path = write_file(tmp_path / "bad-header", payload, False)
    with pytest.raises(DataError, match="bad-header"):
        read_idx(path)


def test_read_idx_unsupported_type(tmp_path: Path) -> None:
    payload = idx_bytes(np.zeros(4, np.uint8), type_code=0x0D)
    path = write_file(tmp_path / "floats.idx", payload, False)
    with pytest.raises(DataError, match=r"floats\.idx.*0x0D"):
        read_idx(path)


def test_read_idx_corrupt_gzip_and_missing_file(tmp_path: Path) -> None:
    good = gzip.compress(idx_bytes(np.zeros((10, 28, 28), np.uint8)))
    path = write_file(tmp_path / "cut.gz", good[: len(good) // 2], False)
    with pytest.raises(DataError, match="cut.gz"):
        read_idx(path)
    with pytest.raises(DataError, match="absent.idx"):
        read_idx(tmp_path / "absent.idx")


# ------------------------------------------------------------------ IDX data sets


def test_fake_mnist_via_data_dir(tmp_path: Path, no_env: None) -> None:
    arrays = write_fake_mnist(tmp_path)
    d = load_dataset("mnist", data_dir=tmp_path)
    assert d.name == "mnist" and d.n_classes == 10 and d.n_features == 784
    assert d.x_train.shape == (20, 784) and d.x_test.shape == (5, 784)
    assert d.x_train.dtype == np.float32 and d.y_train.dtype == np.int64
    assert d.x_train.flags.c_contiguous and not d.x_train.flags.writeable
    expected = arrays["train_images"].reshape(20, 784).astype(np.float64) / 256
    assert np.array_equal(d.x_train, expected)
    assert np.array_equal(d.x_test * 256, arrays["test_images"].reshape(5, 784))
    assert np.array_equal(d.y_train, arrays["train_labels"])
    assert np.array_equal(d.y_test, arrays["test_labels"])
    assert str(tmp_path / "train-images-idx3-ubyte.gz") in d.source
    assert str(tmp_path / "t10k-labels-idx1-ubyte") in d.source


def test_fake_mnist_in_name_subfolder_and_via_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    arrays = write_fake_mnist(tmp_path / "root" / "mnist", n_train=12, n_test=3)
    monkeypatch.delenv(data.ENV_VAR, raising=False)
    d = load_dataset("mnist", data_dir=str(tmp_path / "root"))
    assert d.x_train.shape == (12, 784)

    monkeypatch.setenv(data.ENV_VAR, str(tmp_path / "root"))
    d = load_dataset("mnist")
    assert np.array_equal(d.y_test, arrays["test_labels"])
    assert str(tmp_path / "root" / "mnist") in d.source


def test_data_dir_wins_over_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_fake_mnist(tmp_path / "a", n_train=4)
    write_fake_mnist(tmp_path / "b", n_train=6)
    monkeypatch.setenv(data.ENV_VAR, str(tmp_path / "b"))
    assert load_dataset("mnist", data_dir=tmp_path / "a").x_train.shape[0] == 4
    assert load_dataset("mnist").x_train.shape[0] == 6


def test_cache_sees_rewritten_files(tmp_path: Path, no_env: None) -> None:
    write_fake_mnist(tmp_path, n_train=8)
    first = load_dataset("mnist", data_dir=tmp_path)
    assert load_dataset("mnist", data_dir=tmp_path) is first
    for p in tmp_path.iterdir():
        p.unlink()
    write_fake_mnist(tmp_path, n_train=9, seed=5)
    assert load_dataset("mnist", data_dir=tmp_path).x_train.shape[0] == 9


def test_search_dirs_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(data.ENV_VAR, str(tmp_path / "env"))
    assert search_dirs("fashion-mnist", tmp_path / "dd") == [
        tmp_path / "dd",
        tmp_path / "dd" / "fashion-mnist",
        tmp_path / "env",
        tmp_path / "env" / "fashion-mnist",
        FASHION_DIR,
    ]
    monkeypatch.delenv(data.ENV_VAR)
    assert search_dirs("mnist", None) == []
    assert search_dirs("mnist5k", None)[0].name == "data"


@pytest.mark.parametrize(
    ("overrides", "pattern"),
    [
        ({"train_labels": np.zeros((20, 1), np.uint8)}, "train-labels-idx1-ubyte.gz.*1-D"),
        ({"test_images": np.zeros((5, 784), np.uint8)}, "t10k-images-idx3-ubyte.*3-D"),
        ({"test_labels": np.zeros(4, np.uint8)}, "t10k-images-idx3-ubyte.*5 images.*4 labels"),
        ({"train_labels": np.full(20, 10, np.uint8)}, "train-labels-idx1-ubyte.gz.*label 10"),
        ({"test_images": np.zeros((5, 14, 14), np.uint8)}, "image size differs"),
    ],
)
def test_malformed_idx_dataset(
    tmp_path: Path, no_env: None, overrides: dict[str, np.ndarray], pattern: str
) -> None:
    write_fake_mnist(tmp_path, overrides=overrides)
    with pytest.raises(DataError, match=pattern):
        load_dataset("mnist", data_dir=tmp_path)


def test_missing_dataset_lists_every_place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    partial = tmp_path / "partial"
    write_fake_mnist(partial)
    (partial / "t10k-labels-idx1-ubyte").unlink()
    monkeypatch.setenv(data.ENV_VAR, str(tmp_path / "env-missing"))
    with pytest.raises(DataError) as err:
        load_dataset("mnist", data_dir=partial)
    msg = str(err.value)
    for d in search_dirs("mnist", partial):
        assert str(d) in msg
    assert str(partial / "mnist") in msg and str(tmp_path / "env-missing") in msg
    assert "missing t10k-labels-idx1-ubyte" in msg
    assert "--data-dir" in msg and "MNIST" in msg


def test_missing_without_any_directory(no_env: None) -> None:
    with pytest.raises(DataError, match="NEUROSIM_DATA"):
        load_dataset("mnist")


def test_unknown_name_lists_allowed_names() -> None:
    with pytest.raises(DataError) as err:
        load_dataset("cifar100")
    for name in DATASETS:
        assert name in str(err.value)


@pytest.mark.skipif(not FASHION_DIR.is_dir(), reason="dataset-fashion-mnist is not installed")
def test_fashion_mnist_from_system_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(data.ENV_VAR, str(tmp_path))  # empty: falls through to the system dir
    d = load_dataset("fashion-mnist")
    with pytest.raises(DataError, match="nothing-here: no such directory"):  # never another copy
        load_dataset("fashion-mnist", data_dir=tmp_path / "nothing-here")
    assert d.x_train.shape == (60000, 784) and d.x_test.shape == (10000, 784)
    assert d.y_train.shape == (60000,) and d.y_test.shape == (10000,)
    assert d.x_train.dtype == np.float32 and d.y_test.dtype == np.int64
    assert d.x_test.max() < 1.0 and d.x_test.min() == 0.0
    assert np.array_equal(np.bincount(d.y_test), np.full(10, 1000))
    assert str(FASHION_DIR) in d.source


def test_fashion_mnist_missing_message_says_how_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(data, "SYSTEM_DIRS", {**data.SYSTEM_DIRS, "fashion-mnist": ()})
    monkeypatch.setenv(data.ENV_VAR, str(tmp_path))
    with pytest.raises(DataError, match="apt-get install dataset-fashion-mnist"):
        load_dataset("fashion-mnist")


# ------------------------------------------------------------------ mnist5k CSV parser


@pytest.mark.parametrize("compress", [False, True])
def test_csv_reader_round_trip(tmp_path: Path, compress: bool) -> None:
    rows = good_rows(4)
    text = csv_text(rows)
    path = write_file(tmp_path / "small.csv.gz", text.replace(b"\n", b"\r\n"), compress)
    pixels, labels = read_mnist5k_csv(path)
    assert pixels.dtype == np.uint8 and pixels.shape == (4, 784)
    assert labels.dtype == np.int64 and labels.tolist() == [0, 1, 2, 3]
    assert np.array_equal(pixels, np.array([r[:-1] for r in rows]))
    no_final_newline = write_file(tmp_path / "nonl.csv", text.rstrip(b"\n"), compress)
    assert np.array_equal(read_mnist5k_csv(no_final_newline)[0], pixels)


def _bad_row_cases() -> list[tuple[str, object, str]]:
    return [
        ("short row", lambda r: r[:-1], "line 2: found 784 columns"),
        ("long row", lambda r: [*r, 0], "line 2: found 786 columns"),
        ("empty field", lambda r: [*r[:5], "", *r[6:]], "line 2: empty field"),
        ("leading comma", lambda r: ["", *r[1:]], "line 2: empty field"),
        ("trailing comma", lambda r: [*r[:-1], ""], "line 2: empty field"),
        ("letter", lambda r: [*r[:3], "x", *r[4:]], "line 2: unexpected character"),
        ("negative", lambda r: [*r[:3], -4, *r[4:]], "line 2: unexpected character"),
        ("float", lambda r: [*r[:3], 1.5, *r[4:]], "line 2: unexpected character"),
        ("pixel 256", lambda r: [*r[:9], 256, *r[10:]], "line 2, column 10: pixel code 256"),
        ("label 10", lambda r: [*r[:-1], 10], "line 2, column 785: label 10"),
    ]


@pytest.mark.parametrize(("case", "mutate", "message"), _bad_row_cases())
def test_csv_reader_bad_row(tmp_path: Path, case: str, mutate, message: str) -> None:
    rows: list[list[object]] = list(good_rows(3))
    rows[1] = mutate(rows[1])
    path = write_file(tmp_path / "bad.csv.gz", csv_text(rows), True)  # type: ignore[arg-type]
    with pytest.raises(DataError, match="bad.csv.gz") as err:
        read_mnist5k_csv(path)
    assert message in str(err.value), case


def test_csv_reader_empty_line_and_empty_file(tmp_path: Path) -> None:
    rows = good_rows(2)
    text = csv_text(rows[:1]) + b"\n" + csv_text(rows[1:])
    with pytest.raises(DataError, match="line 2: found an empty line"):
        read_mnist5k_csv(write_file(tmp_path / "gap.csv", text, False))
    with pytest.raises(DataError, match="empty.csv.*empty file"):
        read_mnist5k_csv(write_file(tmp_path / "empty.csv", b"", True))
