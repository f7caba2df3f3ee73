"""The text summary of a record's ``hardware`` section (``neurosim train``)."""

from __future__ import annotations

import copy

import pytest

from neurosim.config import TrainConfig
from neurosim.experiments.summary import hardware_lines, is_pipelined
from neurosim.experiments.train import train

NEW_FIELDS = (
    "power_mw", "static_power_mw", "vdd_v", "dram_bits_per_sample",
    "latency_cycles_per_sample", "utilization", "bottleneck", "update",
)  # fmt: skip


def _hardware() -> dict:
    """A hand-made section: 200 + 100 pJ, 3 mW static, serial cycles."""
    return {
        "chip": "ref45", "node_nm": 45.0, "clock_mhz": 400.0, "area_mm2": 7.5,
        "feedback_storage": "dense",
        "energy_pj_per_sample": {
            "total": 300_000.0, "static": 100_000.0, "dynamic": 200_000.0,
            "by_phase": {"dram": 10_000.0, "forward": 50_000.0, "update": 140_000.0},
            "by_action": {"mac": 20_000.0, "sram_read": 170_000.0, "dram_read": 10_000.0},
        },
        "inference_energy_pj": 50_000.0,
        "power_mw": {"total": 120.0, "static": 40.0, "dynamic": 80.0},
        "static_power_mw": {"clock": 39.0, "sram_leakage": 1.0, "total": 40.0},
        "vdd_v": 0.9,
        "cycles_per_sample": {
            "train": 1006.0, "forward": 600.0, "backward": 396.0, "update": 4.0,
            "dram": 2.0, "inference": 600.0,
        },
        "latency_cycles_per_sample": 1000.0,
        "samples_per_second": 400e6 / 1006.0,
        "utilization": {"mac": 0.71, "skip": 0.01, "chain": 0.0, "forward": 0.02,
                        "sram": 0.5, "lut": 0.03},
        "bottleneck": "mac1.0",
        "dram_bits_per_sample": {"total": 516.0, "read": 516.0, "write": 0.0,
                                 "by_detail": {"input": 512.0, "label": 4.0}},
        "update": {"accumulate": "sram", "zero_skip": True},
        "bus": {"bits_per_sample": {"skip": 175.0}, "packets_per_sample": {"skip": 1}},
        "memory_bits": {"forward": 100, "feedback": 50, "grad": 200, "buffer": 0},
        "tiles": {"used": 2, "available": 16, "groups": 1, "per_layer": [1, 1],
                  "utilisation": [0.5, 0.25]},
        "fits": True,
        "violations": [],
    }  # fmt: skip


def _old(h: dict) -> dict:
    """The section as records written before issue 15's fields had it."""
    h = copy.deepcopy(h)
    for k in NEW_FIELDS:
        h.pop(k)
    for k in ("static", "dynamic"):
        h["energy_pj_per_sample"].pop(k)
    h["energy_pj_per_sample"]["by_phase"].pop("dram")
    h["cycles_per_sample"].pop("dram")
    h["memory_bits"] = {"forward": 100, "feedback": 50}
    h["tiles"].pop("groups")
    return h


def _line(lines: list[str], head: str) -> str:
    (line,) = [s for s in lines if s.startswith(head)]
    return line


def test_summary_shows_the_new_fields():
    lines = hardware_lines(_hardware())
    assert _line(lines, "energy/sample").split("  ", 1)[1] == (
        "300.0 nJ = static 100.0 + dynamic 200.0 nJ  (inference 50.0 nJ)"
    )
    assert _line(lines, "  by phase").endswith("forward 50.0 nJ, update 140.0 nJ, dram 10.0 nJ")
    assert _line(lines, "power") == (
        "power          120.0 mW: static 40.0 (clock 39, sram_leakage 1), dynamic 80.0 mW"
        " at 0.90 V"
    )
    assert _line(lines, "cycles/sample") == (
        "cycles/sample  train 1006 (forward 600, backward 396, update 4.0, dram 2.0),"
        " inference 600; latency 1000"
    )
    assert _line(lines, "throughput") == (
        "throughput     397614 samples/s, serial (one sample at a time)"
    )
    assert _line(lines, "utilisation") == (
        "utilisation    mac 71%, skip 1%, chain 0%, forward 2%, sram 50%, lut 3%;"
        " bottleneck mac1.0"
    )
    assert _line(lines, "DRAM/sample") == (
        "DRAM/sample    516 bits (read 516, write 0: input 512, label 4)"
    )
    assert "gradient SRAM; zero errors skipped" in _line(lines, "gradients")
    assert _line(lines, "memory bits") == "memory bits    forward 100, feedback 50, grad 200"
    assert len(lines) == 13 and all("\n" not in s for s in lines)


def test_summary_pipelined_and_time_multiplexed():
    h = _hardware()
    h["cycles_per_sample"]["train"] = 700.0  # below latency + update + dram: overlap
    h["tiles"]["groups"] = 3
    h["update"] = {"accumulate": "online", "zero_skip": False}
    lines = hardware_lines(h)
    assert is_pipelined(h) is True
    assert _line(lines, "throughput").endswith("pipelined (samples overlap)")
    assert _line(lines, "DRAM/sample").endswith("; 3 tile groups, time-multiplexed")
    assert _line(lines, "gradients").endswith("after every sample; no zero skipping")
    h["pipeline"] = False  # an explicit field wins over the cycles
    assert is_pipelined(h) is False


def test_summary_of_an_old_record():
    lines = hardware_lines(_old(_hardware()))
    assert _line(lines, "energy/sample") == (
        "energy/sample  300.0 nJ  (inference 50.0 nJ)"
    )
    assert _line(lines, "cycles/sample") == (
        "cycles/sample  train 1006 (forward 600, backward 396, update 4.0), inference 600;"
        " 397614 samples/s"
    )
    heads = {s.split()[0] for s in lines}
    assert not heads & {"power", "throughput", "utilisation", "DRAM/sample", "gradients"}
    assert _line(lines, "memory bits") == "memory bits    forward 100, feedback 50"
    assert is_pipelined(_old(_hardware())) is None


@pytest.mark.parametrize("pipeline", [False, True])
def test_summary_of_a_real_record(tmp_path, pipeline):
    chip = tmp_path / "c.toml"
    chip.write_text(f'name = "c"\npipeline = {str(pipeline).lower()}\n')
    cfg = TrainConfig(data="digits", hidden=(16,), epochs=1, limit=64, batch=8,
                      mode="fixed", chip=str(chip))  # fmt: skip
    res, _ = train(cfg)
    h = res.hardware
    lines = hardware_lines(h)
    for head in ("energy/sample", "power", "cycles/sample", "throughput", "utilisation",
                 "DRAM/sample", "gradients"):  # fmt: skip
        assert _line(lines, head)
    assert is_pipelined(h) is pipeline
    assert hardware_lines(_old_real(h))  # the same run, as an old store holds it


def _old_real(h: dict) -> dict:
    h = copy.deepcopy(h)
    for k in NEW_FIELDS:
        h.pop(k, None)
    h["energy_pj_per_sample"].pop("static")
    h["cycles_per_sample"].pop("dram")
    return h
