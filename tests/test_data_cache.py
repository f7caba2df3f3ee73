"""The decoded-data cache (neurosim.data.cache): equal arrays, no decoding
on a stamped hit, and the source as the authority on every kind of miss."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
import pytest

import neurosim.data.idx as idx_mod
from neurosim.data import cache
from neurosim.data.datasets import clear_cache, load_dataset
from neurosim.data.idx import IDX_FILES


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "xdg"
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    monkeypatch.delenv(cache.ENV_CACHE, raising=False)
    return home


class Decoder:
    """Counts its calls; returns arrays derived from the source's bytes."""

    def __init__(self, source: Path) -> None:
        self.source, self.calls = source, 0

    def __call__(self) -> dict[str, np.ndarray]:
        self.calls += 1
        raw = np.frombuffer(self.source.read_bytes(), np.uint8)
        return {"codes": raw.reshape(-1, 4), "labels": raw[::4].astype(np.int64)}


def source_file(tmp_path: Path, seed: int = 0) -> Path:
    path = tmp_path / "data.bin"
    path.write_bytes(np.random.default_rng(seed).integers(0, 256, 64, np.uint8).tobytes())
    return path


def assert_same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert a[k].dtype == b[k].dtype and a[k].shape == b[k].shape
        assert np.array_equal(a[k], b[k])


def test_a_stamped_hit_skips_decoding_and_gives_equal_arrays(tmp_path, cache_home):
    src = source_file(tmp_path)
    dec = Decoder(src)
    first = cache.decoded(src, "test", dec)
    assert dec.calls == 1
    assert cache.cache_file(src, "test").is_file()
    assert str(cache.cache_file(src, "test")).startswith(str(cache_home))
    again = cache.decoded(src, "test", dec)
    assert dec.calls == 1  # read back, not decoded
    assert_same(first, again)
    assert_same(first, Decoder(src)())


def test_a_changed_source_is_decoded_again(tmp_path, cache_home):
    src = source_file(tmp_path, seed=0)
    dec = Decoder(src)
    cache.decoded(src, "test", dec)
    src.write_bytes(source_file(tmp_path, seed=1).read_bytes())  # same size, new content
    st = src.stat()
    os.utime(src, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    got = cache.decoded(src, "test", dec)
    assert dec.calls == 2
    assert_same(got, Decoder(src)())


def test_a_damaged_or_foreign_cache_file_is_rebuilt(tmp_path, cache_home):
    src = source_file(tmp_path)
    dec = Decoder(src)
    cache.decoded(src, "test", dec)
    target = cache.cache_file(src, "test")
    target.write_bytes(target.read_bytes()[:100])  # truncated
    assert_same(cache.decoded(src, "test", dec), Decoder(src)())
    assert dec.calls == 2
    np.savez(target, codes=np.zeros(3, np.uint8))  # no stamp
    assert_same(cache.decoded(src, "test", dec), Decoder(src)())
    assert dec.calls == 3
    cache.decoded(src, "test", dec)
    assert dec.calls == 3  # rewritten: a hit again
    # another reader's cache of the same file is a different file
    other = Decoder(src)
    cache.decoded(src, "other", other)
    assert other.calls == 1


def test_turned_off_or_unwritable_costs_time_only(tmp_path, cache_home, monkeypatch):
    src = source_file(tmp_path)
    monkeypatch.setenv(cache.ENV_CACHE, "0")
    dec = Decoder(src)
    cache.decoded(src, "test", dec)
    cache.decoded(src, "test", dec)
    assert dec.calls == 2 and not cache.cache_dir().exists()
    monkeypatch.delenv(cache.ENV_CACHE)
    cache_home.write_text("a file where the cache directory should be")
    got = cache.decoded(src, "test", dec)
    assert dec.calls == 3
    assert_same(got, Decoder(src)())


def test_no_home_directory_reads_the_source(tmp_path, monkeypatch):
    src = source_file(tmp_path)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)

    def no_home() -> Path:
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.setattr(Path, "home", staticmethod(no_home))
    dec = Decoder(src)
    assert_same(cache.decoded(src, "test", dec), Decoder(src)())
    assert dec.calls == 1


def test_a_failing_decode_caches_nothing(tmp_path, cache_home):
    src = source_file(tmp_path)

    def bad() -> dict:
        raise ValueError("malformed")

    with pytest.raises(ValueError, match="malformed"):
        cache.decoded(src, "test", bad)
    assert not cache.cache_file(src, "test").exists()


def test_idx_data_sets_load_equal_through_the_cache(tmp_path, cache_home, monkeypatch):
    rng = np.random.default_rng(3)
    shapes = {"train_images": (12, 28, 28), "train_labels": (12,),
              "test_images": (4, 28, 28), "test_labels": (4,)}  # fmt: skip
    folder = tmp_path / "idx"
    folder.mkdir()
    arrays = {}
    for role, shape in shapes.items():
        arr = rng.integers(0, 10 if "labels" in role else 256, shape, dtype=np.uint8)
        arrays[role] = arr
        header = bytes([0, 0, 8, arr.ndim]) + b"".join(n.to_bytes(4, "big") for n in shape)
        payload = header + arr.tobytes()
        compress = role.startswith("train")  # the test part stays plain
        name = IDX_FILES[role] + (".gz" if compress else "")
        (folder / name).write_bytes(gzip.compress(payload) if compress else payload)
    first = load_dataset("fashion-mnist", data_dir=folder)
    cached = sorted(p.name for p in cache.cache_dir().iterdir())
    assert len(cached) == 2 and all(".gz-" in n for n in cached)  # only the gzipped files

    read = []
    real = idx_mod.read_idx
    monkeypatch.setattr(idx_mod, "read_idx", lambda p: read.append(Path(p).name) or real(p))
    clear_cache()
    again = load_dataset("fashion-mnist", data_dir=folder)
    assert sorted(read) == sorted(IDX_FILES[r] for r in ("test_images", "test_labels"))
    assert again is not first
    for a, b in ((first.x_train, again.x_train), (first.y_train, again.y_train),
                 (first.x_test, again.x_test), (first.y_test, again.y_test)):  # fmt: skip
        assert a.dtype == b.dtype and np.array_equal(a, b)
        assert not b.flags.writeable
    assert np.array_equal(again.x_train * 256, arrays["train_images"].reshape(12, -1))
    assert np.array_equal(again.y_train, arrays["train_labels"])
