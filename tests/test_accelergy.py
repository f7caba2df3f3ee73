"""Accelergy interop: an ERT as the energy table, action counts out, round trips.

The expectations are computed here from neurosim's energy table rows and from
the two YAML files, never from the bill's own tallies.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml")

from hw_models import parts  # noqa: E402
from hw_models.accelergy import MAPPING, ErtName, leaf, parse_ert, read_ert  # noqa: E402
from hw_models.chip import load_chip  # noqa: E402
from hw_models.energy import EnergyTable  # noqa: E402
from hw_models.power import supply  # noqa: E402
from neurosim import api  # noqa: E402
from neurosim.errors import ConfigError  # noqa: E402

RUN = dict(rule="srbp", data="digits", mode="fixed", epochs=1, hidden=(32,), limit=200, seed=3)
NODE = 45.0


# ------------------------------------------------------------------ helpers


def own_price(key: tuple, chip, acc_bits: int, lut_in: int, act_bits: int) -> float:
    """neurosim's energy of one unit of ``key`` on ``chip``, from the table rows
    (the parts' rules written out by hand)."""
    t = EnergyTable.default()
    _phase, action, d = key
    if action == "mac":
        return t.energy_pj("mac", NODE, a_bits=d[0], b_bits=d[1], acc_bits=acc_bits)
    if action == "mult":
        return t.energy_pj("mult", NODE, a_bits=d[0], b_bits=d[1])
    if action in ("add", "shift_add", "shift"):
        return t.energy_pj(action, NODE, bits=d[0])
    if action in ("sram_read", "sram_write"):
        return t.energy_pj(action, NODE, kib=chip.memory_kib(d[0]))
    if action == "lut":
        return t.energy_pj("lut", NODE, in_bits=lut_in, out_bits=act_bits)
    if action == "rng":
        return t.energy_pj("rng_bit", NODE)
    if action == "wire":
        return t.energy_pj("wire", NODE, length_mm=chip.link(d[0]).length_mm)
    if action == "packet":
        return 0.0
    if action in ("dram_read", "dram_write"):
        bits = chip.dram.access_bits
        return t.energy_pj(action, NODE, bits=bits) / bits
    raise AssertionError(action)


def key_of(name: str) -> tuple:
    phase, action, *rest = name.split(".", 2)
    if not rest:
        return (phase, action, ())
    nums = rest[0].split("x")
    if all(n.isdigit() for n in nums):
        return (phase, action, tuple(int(n) for n in nums))
    return (phase, action, (rest[0],))


def ert_entry(key: tuple, widths: dict) -> tuple[str, str, dict | None]:
    """The ERT component, action and arguments of a key, as the docs' table says."""
    _p, action, d = key
    if action == "mac":
        return "mac", "mac", {"a_bits": d[0], "b_bits": d[1], "acc_bits": widths["acc"]}
    if action == "mult":
        return "multiplier", "mult", {"a_bits": d[0], "b_bits": d[1]}
    if action in ("add", "shift_add", "shift"):
        part = {"add": "adder", "shift_add": "shift_adder", "shift": "shift_adder"}[action]
        return part, action, {"bits": d[0]}
    if action in ("sram_read", "sram_write"):
        return f"{d[0]}_sram", action[5:], None
    if action == "lut":
        return "activation_lut", "read", {"in_bits": widths["lut"], "out_bits": widths["act"]}
    if action == "rng":
        return "prng", "generate", None
    if action in ("wire", "packet"):
        return f"{d[0]}_link", {"wire": "transfer", "packet": "send"}[action], None
    return "dram", action[5:], None  # dram_read, dram_write


def write_ert(path: Path, run, scale: dict | None = None) -> dict:
    """Write, in Accelergy's v0.3 layout, an ERT holding neurosim's own price of
    every action of ``run`` (times ``scale[action]``); return
    ``{(component, action, arguments): pJ}``."""
    chip = load_chip("ref45")
    fm = api.formats(run.config)
    widths = {"acc": run.config.acc_bits, "lut": fm.lut.bits, "act": fm.act.bits}
    prices: dict = {}
    for name in run.result.hardware["actions_per_sample"]:
        key = key_of(name)
        comp, action, args = ert_entry(key, widths)
        e = own_price(key, chip, widths["acc"], widths["lut"], widths["act"])
        e *= (scale or {}).get(key[1], 1.0)
        prices[(comp, action, json.dumps(args, sort_keys=True))] = e
    by_comp: dict[str, list[str]] = {}
    for (comp, action, args), e in sorted(prices.items()):
        a = json.loads(args)
        arg_text = "null" if a is None else "{" + ", ".join(f"{k}: {v}" for k, v in a.items()) + "}"
        by_comp.setdefault(comp, []).append(
            f"    - name: {action}\n      arguments: {arg_text}\n      energy: {e!r}\n"
        )
    text = "ERT:\n  version: 0.3\n  tables:\n"
    for comp, acts in by_comp.items():
        # hierarchical names with a list range, as Accelergy writes them
        text += f"  - name: ref45.tile[0..15].{comp}\n    actions:\n" + "".join(acts)
    path.write_text(text)
    return prices


@pytest.fixture(scope="module")
def builtin():
    return api.run(**RUN)


# ------------------------------------------------------------------ round trip


def test_mapping_covers_every_action_of_every_part() -> None:
    assert set(MAPPING) == set(parts.REGISTRY)


def test_ert_with_neurosim_values_gives_the_same_energies(builtin, tmp_path) -> None:
    assert supply(load_chip("ref45")).dynamic_factor == 1.0
    ert = tmp_path / "ERT.yaml"
    write_ert(ert, builtin)
    run = api.run(**RUN, accelergy_ert=str(ert))
    a, b = builtin.result.hardware, run.result.hardware
    assert run.result.weights_sha256 == builtin.result.weights_sha256
    assert run.test_accuracy == builtin.test_accuracy
    ea, eb = a["energy_pj_per_sample"], b["energy_pj_per_sample"]
    assert eb["by_action"].keys() == ea["by_action"].keys()
    for k, v in ea["by_action"].items():
        assert eb["by_action"][k] == pytest.approx(v, rel=1e-12, abs=0)
    assert eb["dynamic"] == pytest.approx(ea["dynamic"], rel=1e-12, abs=0)
    assert b["inference_energy_pj"] == pytest.approx(a["inference_energy_pj"], rel=1e-12)
    assert b["actions_per_sample"] == a["actions_per_sample"]


def test_doubling_sram_read_changes_only_its_share(builtin, tmp_path) -> None:
    ert = tmp_path / "ERT2.yaml"
    write_ert(ert, builtin, scale={"sram_read": 2.0})
    run = api.run(**RUN, accelergy_ert=str(ert))
    cfg, chip = builtin.config, load_chip("ref45")
    fm = api.formats(cfg)
    # hand: counts per sample x the doubled price, over the sram_read keys
    want = sum(
        n * 2.0 * own_price(key_of(k), chip, cfg.acc_bits, fm.lut.bits, fm.act.bits)
        for k, n in builtin.result.hardware["actions_per_sample"].items()
        if key_of(k)[1] == "sram_read"
    )
    old = builtin.result.hardware["energy_pj_per_sample"]
    new = run.result.hardware["energy_pj_per_sample"]
    assert new["by_action"]["sram_read"] == pytest.approx(want, rel=1e-12)
    assert new["by_action"]["sram_read"] == pytest.approx(2 * old["by_action"]["sram_read"],
                                                          rel=1e-12)  # fmt: skip
    for k, v in old["by_action"].items():
        if k != "sram_read":
            assert new["by_action"][k] == pytest.approx(v, rel=1e-12)
    grown = new["dynamic"] - old["dynamic"]
    assert grown == pytest.approx(old["by_action"]["sram_read"], rel=1e-9)


def test_counts_file_times_ert_is_the_dynamic_energy(builtin, tmp_path) -> None:
    ert, counts = tmp_path / "ERT.yaml", tmp_path / "counts.yaml"
    write_ert(ert, builtin)
    doc = api.write_accelergy_counts(builtin, counts)
    # both files read back with plain yaml, matched by hand as Accelergy matches
    c = yaml.safe_load(counts.read_text())["action_counts"]
    assert c == doc["action_counts"]
    assert c["version"] == 0.3 and c["per"] == "training_sample"
    e = yaml.safe_load(ert.read_text())["ERT"]
    energy = {}
    for t in e["tables"]:
        comp = t["name"].rsplit(".", 1)[-1]
        for a in t["actions"]:
            energy[(comp, a["name"], json.dumps(a["arguments"], sort_keys=True))] = a["energy"]
    total = 0.0
    for comp in c["local"]:
        for a in comp["action_counts"]:
            args = json.dumps(a.get("arguments"), sort_keys=True)
            total += a["counts"] * energy[(comp["name"], a["name"], args)]
    dyn = builtin.result.hardware["energy_pj_per_sample"]["dynamic"]
    assert total == pytest.approx(dyn, rel=1e-12)


# ------------------------------------------------------------------ pricing and errors


def _pricing(ert):
    chip = load_chip("ref45")
    return parts.Pricing(chip.energy_table(), chip, parts.Widths(32, 12, 8), ert=ert)


ONE_MAC = """
ERT:
  version: 0.3
  tables:
  - name: chip.mac
    actions:
    - {name: mac, arguments: null, energy: 0.5}
    - {name: mac, arguments: {a_bits: 16, b_bits: 8, acc_bits: 32}, energy: 0.25}
"""


def test_exact_arguments_win_over_null(tmp_path) -> None:
    p = tmp_path / "e.yaml"
    p.write_text(ONE_MAC)
    pr = _pricing(read_ert(p))
    assert parts.unit_energy_pj(("forward", "mac", (16, 8)), pr) == 0.25
    assert parts.unit_energy_pj(("forward", "mac", (8, 8)), pr) == 0.5
    # packets are counted, not priced: an ERT need not list them
    assert parts.unit_energy_pj(("transport", "packet", ("skip",)), pr) == 0.0


def test_missing_action_is_an_error_naming_action_and_file(tmp_path) -> None:
    p = tmp_path / "e.yaml"
    p.write_text(ONE_MAC)
    with pytest.raises(ConfigError) as ei:
        parts.unit_energy_pj(("forward", "sram_read", ("weights",)), _pricing(read_ert(p)))
    msg = str(ei.value)
    assert "sram_read" in msg and str(p) in msg and "weights_sram" in msg and "read" in msg


def test_partial_falls_back_to_neurosim_row(tmp_path) -> None:
    p = tmp_path / "e.yaml"
    p.write_text(ONE_MAC)
    pr = _pricing(read_ert(p, partial=True))
    key = ("forward", "sram_read", ("weights",))
    assert parts.unit_energy_pj(key, pr) == parts.unit_energy_pj(key, _pricing(None))
    assert parts.unit_energy_pj(("forward", "mac", (16, 8)), pr) == 0.25


def test_v02_layout_and_leaf_names() -> None:
    data = yaml.safe_load("""
ERT:
  version: 0.2
  tables:
    sys.PE[0..3].weights_sram:
      read: {arguments: null, energy: 1.5}
      write:
      - {arguments: null, energy: 2}
""")
    ert = parse_ert(data, "x.yaml")
    assert ert.lookup(ErtName("weights_sram", "read")) == 1.5
    assert ert.lookup(ErtName("weights_sram", "write")) == 2.0
    assert leaf("a.b[0..1].c[2]") == "c"


@pytest.mark.parametrize(
    "text, where",
    [
        ("ERT: [1, 2]", "top-level ERT"),
        ("ERT: {tables: 3}", "ERT.tables"),
        ("ERT: {tables: [{name: a, actions: [{name: r, energy: -1}]}]}", "energy"),
        ("ERT: {tables: [{name: a, actions: [{name: r, energy: .nan}]}]}", "energy"),
        ("ERT: {tables: [{name: a, actions: [{name: r, energy: true}]}]}", "energy"),
        ("ERT: {tables: [{name: a, actions: [{name: r, arguments: 5, energy: 1}]}]}", "arguments"),
        ("ERT: {tables: [{actions: []}]}", "name"),
        ("ERT: {tables: [{name: a}]}", "actions"),
        ("ERT: {tables: [{name: a, actions: [", "valid YAML"),
        ("!!python/object/apply:os.system ['true']", "valid YAML"),
    ],
)
def test_bad_ert_is_a_config_error(tmp_path, text: str, where: str) -> None:
    p = tmp_path / "bad.yaml"
    p.write_text(text)
    with pytest.raises(ConfigError) as ei:
        read_ert(p)
    assert where in str(ei.value) and str(p) in str(ei.value)


def test_large_missing_and_binary_files(tmp_path) -> None:
    big = tmp_path / "big.yaml"
    big.write_bytes(b"#" * ((1 << 20) + 1))
    with pytest.raises(ConfigError, match="at most 1 MiB"):
        read_ert(big)
    with pytest.raises(ConfigError, match="readable YAML"):
        read_ert(tmp_path / "nope.yaml")
    bad = tmp_path / "bin.yaml"
    bad.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ConfigError, match="UTF-8"):
        read_ert(bad)


def test_missing_pyyaml_is_a_clear_error(tmp_path, monkeypatch) -> None:
    p = tmp_path / "e.yaml"
    p.write_text(ONE_MAC)
    monkeypatch.setitem(sys.modules, "yaml", None)
    with pytest.raises(ConfigError, match=r"pip install 'neurosim\[yaml\]'"):
        read_ert(p)


def test_chip_file_key_is_relative_to_the_chip_file(tmp_path, monkeypatch) -> None:
    d = tmp_path / "chips"
    d.mkdir()
    (d / "e.yaml").write_text(ONE_MAC)
    (d / "mine.toml").write_text('base = "ref45"\naccelergy_ert = "e.yaml"\n')
    monkeypatch.chdir(tmp_path)
    chip = load_chip(str(d / "mine.toml"))
    assert chip.ert() is not None and chip.ert().lookup(ErtName("mac", "mac")) == 0.5
    (d / "bad.toml").write_text('base = "ref45"\naccelergy_ert = "missing.yaml"\n')
    with pytest.raises(ConfigError, match="accelergy_ert"):
        load_chip(str(d / "bad.toml"))


def test_config_field_is_checked_before_the_run(tmp_path) -> None:
    with pytest.raises(ConfigError, match="accelergy_ert"):
        api.make_config(**RUN, accelergy_ert=str(tmp_path / "missing.yaml"))


def test_run_without_an_entry_fails_with_the_action(tmp_path) -> None:
    p = tmp_path / "e.yaml"
    p.write_text(ONE_MAC)
    with pytest.raises(ConfigError, match="neurosim action"):
        api.run(**{**RUN, "limit": 20}, accelergy_ert=str(p))
    run = api.run(**{**RUN, "limit": 20}, accelergy_ert=str(p), accelergy_partial=True)
    assert math.isfinite(run.result.hardware["energy_pj_per_sample"]["dynamic"])


def test_cli_train_energy_and_counts(builtin, tmp_path) -> None:
    ert, counts = tmp_path / "ERT.yaml", tmp_path / "counts.yaml"
    write_ert(ert, builtin)
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    argv = [sys.executable, "-m", "neurosim.cli", "train", "--rule", "srbp", "--data", "digits",
            "--mode", "fixed", "--epochs", "1", "--hidden", "32", "--limit", "200", "--seed", "3",
            "--no-progress", "--energy", str(ert), "--accelergy-counts", str(counts)]  # fmt: skip
    p = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300)
    assert p.returncode == 0, p.stderr
    assert "action counts" in p.stdout
    c = yaml.safe_load(counts.read_text())["action_counts"]
    assert {x["name"] for x in c["local"]} >= {"mac", "weights_sram", "grad_sram"}
    bad = subprocess.run([*argv[:-4], "--energy", str(tmp_path / "none.yaml")],
                         capture_output=True, text=True, env=env, timeout=300)  # fmt: skip
    assert bad.returncode == 2 and "accelergy_ert" in bad.stderr
