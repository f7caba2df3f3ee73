"""The CLI, driven through a subprocess as a user would."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}


def run(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "neurosim.cli", *args],
        capture_output=True,
        text=True,
        env=ENV,
        cwd=cwd,
        timeout=300,
    )


def test_train_prints_table_summary_and_writes_record(tmp_path) -> None:
    out = tmp_path / "rec.json"
    p = run(
        "train",
        "--mode",
        "fixed",
        "--epochs",
        "2",
        "--hidden",
        "32",
        "--error-bits",
        "4",
        "--json",
        str(out),
    )
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert any(line.split()[:1] == ["2"] for line in lines)  # epoch 2 row
    assert "test accuracy" in p.stdout and "saturations" in p.stdout
    assert "epoch 1/2" in p.stderr  # progress bar
    rec = json.loads(out.read_text())
    assert rec["schema_version"] == 1
    assert rec["config"]["mode"] == "fixed" and rec["config"]["error_bits"] == 4
    assert rec["results"]["test_accuracy"] > 0.5
    assert len(rec["results"]["epochs"]) == 2


def test_config_file_and_flag_override(tmp_path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('rule = "rbp"\nepochs = 1\nhidden = [16]\nweight_bits = 12\nmode = "fixed"\n')
    out = tmp_path / "r.json"
    p = run(
        "train", "--config", str(cfg), "--weight-bits", "10", "--no-progress", "--json", str(out)
    )
    assert p.returncode == 0, p.stderr
    c = json.loads(out.read_text())["config"]
    assert (c["rule"], c["weight_bits"], c["hidden"]) == ("rbp", 10, [16])


@pytest.mark.parametrize(
    "args, field",
    [
        (["--weight-bits", "40"], "weight_bits"),
        (["--rule", "magic"], "rule"),
        (["--act", "sin"], "act"),
        (["--hidden", "10,x"], "hidden"),
        (["--data", "imagenet"], "data"),
        (["--feedback", "sparse"], "feedback_n"),
        (["--feedback", "sparse", "--feedback-n", "11"], "feedback_n"),
        (["--feedback", "lowrank", "--rank", "50"], "rank"),
        (["--weight-int-bits", "20", "--weight-bits", "8"], "weight_int_bits"),
        (["--epochs", "0"], "epochs"),
        (["--lr", "-1"], "lr"),
        (["--data", "mnist", "--data-dir", "/nonexistent"], "/nonexistent"),
    ],
)
def test_bad_input_exits_2_with_one_line(args: list[str], field: str) -> None:
    p = run("train", "--epochs", "1", "--hidden", "16", "--no-progress", *args)
    assert p.returncode == 2, (p.stdout, p.stderr)
    assert "Traceback" not in p.stderr
    err = p.stderr.strip()
    assert field in err


def test_bad_toml_names_the_line(tmp_path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('rule = "srbp"\nepochs = = 3\n')
    p = run("train", "--config", str(bad))
    assert p.returncode == 2 and "line 2" in p.stderr and "Traceback" not in p.stderr
    unknown = tmp_path / "unknown.toml"
    unknown.write_text("wieght_bits = 8\n")
    p = run("train", "--config", str(unknown))
    assert p.returncode == 2 and "wieght_bits" in p.stderr


def test_unknown_flag_exits_2() -> None:
    p = run("train", "--bogus")
    assert p.returncode == 2 and "Traceback" not in p.stderr


def test_no_json_written_on_error(tmp_path) -> None:
    out = tmp_path / "r.json"
    p = run("train", "--rule", "nope", "--json", str(out))
    assert p.returncode == 2 and not out.exists()


def test_sweep_results_report_commands(tmp_path) -> None:
    spec = tmp_path / "s.toml"
    spec.write_text(
        '[base]\ndata = "digits"\nepochs = 1\nhidden = [16]\nmode = "fixed"\n'
        '[axes]\nrule = ["bp", "srbp"]\n'
    )
    db = tmp_path / "s.db"
    p = run("sweep", str(spec), "--dry-run")
    assert p.returncode == 0 and "2 points" in p.stdout and "rule=srbp" in p.stdout
    p = run("sweep", str(spec), "--store", str(db), "--workers", "2", "--no-progress")
    assert p.returncode == 0, p.stderr
    assert "2 run ok, 0 failed" in p.stdout
    p = run("sweep", str(spec), "--store", str(db), "--no-progress")
    assert "2 already stored, 0 run ok" in p.stdout
    p = run("results", str(db))
    assert p.returncode == 0 and "srbp" in p.stdout and "bp" in p.stdout
    csv = tmp_path / "r.csv"
    assert run("results", str(db), "--csv", str(csv)).returncode == 0
    assert csv.read_text().count("\n") == 3  # header and two points
    p = run("report", str(db), "-o", str(tmp_path / "rep"))
    assert p.returncode == 0 and (tmp_path / "rep" / "report.html").is_file()


def test_bad_sweep_spec_names_the_path(tmp_path) -> None:
    spec = tmp_path / "bad.toml"
    spec.write_text('[axes]\nweight_bits = [8, 99]\n')
    p = run("sweep", str(spec), "--dry-run")
    assert p.returncode == 2 and "axes.weight_bits[1]" in p.stderr
    assert "Traceback" not in p.stderr
    p = run("results", str(tmp_path / "missing.db"))
    assert p.returncode == 2 and "missing.db" in p.stderr


def test_closed_stdout_pipe_is_not_a_traceback() -> None:
    argv = [sys.executable, "-m", "neurosim.cli", "train", "--data", "digits", "--hidden", "8",
            "--epochs", "30", "--no-progress"]  # fmt: skip
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert p.stdout.readline().startswith(b"neurosim train:")
    p.stdout.close()  # the reader leaves, as `| head -1` does
    err = p.stderr.read()
    assert p.wait(timeout=120) == 141 and b"Traceback" not in err, err


def test_train_conv_flag_and_bad_conv(tmp_path) -> None:
    out = tmp_path / "conv.json"
    p = run("train", "--data", "digits", "--conv", "c4k3p3s2", "--hidden", "16", "--epochs",
            "1", "--lr", "0.2", "--batch", "16", "--no-progress", "--json", str(out))  # fmt: skip
    assert p.returncode == 0, p.stderr
    assert "64-c4k3p3s2-16-10" in p.stdout and "conv blocks    tiles K^1 1;" in p.stdout
    rec = json.loads(out.read_text())
    assert rec["config"]["conv"] == "c4k3p3s2" and rec["hardware"]["conv"]["tiles"] == [1]
    # the paper's three blocks do not fit an 8x8 image: one line naming the field
    bad = run("train", "--preset", "cifar-conv", "--data", "digits", "--no-progress")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert bad.stderr.count("\n") == 1 and "conv" in bad.stderr and "block 3" in bad.stderr


def test_bias_flag(tmp_path) -> None:
    out = tmp_path / "r.json"
    p = run(
        "train", "--data", "digits", "--hidden", "8", "--epochs", "1", "--mode", "fixed",
        "--bias", "--no-progress", "--json", str(out),
    )  # fmt: skip
    assert p.returncode == 0, p.stderr
    assert json.loads(out.read_text())["config"]["bias"] is True
    assert "formats: W Q16.14  b Q16.14  O Q8.7" in p.stdout
    bad = run("train", "--data", "digits", "--bias", "--feedback-per-synapse", "--no-progress")
    assert bad.returncode == 2 and "bias = True" in bad.stderr and "Traceback" not in bad.stderr


def test_momentum_flags(tmp_path) -> None:
    out = tmp_path / "r.json"
    p = run(
        "train", "--data", "digits", "--hidden", "8", "--epochs", "1", "--mode", "fixed",
        "--momentum", "0.9", "--velocity-bits", "20", "--no-progress", "--json", str(out),
    )  # fmt: skip
    assert p.returncode == 0, p.stderr
    rec = json.loads(out.read_text())
    assert (rec["config"]["momentum"], rec["config"]["velocity_bits"]) == (0.9, 20)
    assert rec["hardware"]["memory_bits"]["velocity"] == (64 * 8 + 8 * 10) * 20
    assert "momentum 0.9 (velocity Q20.18)" in p.stdout
    bad = run("train", "--data", "digits", "--momentum", "1", "--no-progress")
    assert bad.returncode == 2 and "momentum = 1.0" in bad.stderr and "Traceback" not in bad.stderr


def test_train_flags_are_generated_from_the_config_fields() -> None:
    import dataclasses

    from hw_models.chip import preset_names
    from neurosim.cli import build_parser, config_flags
    from neurosim.config import TrainConfig

    train = build_parser()._subparsers._group_actions[0].choices["train"]
    actions = {a.dest: a for a in train._actions}
    text = train.format_help()
    specs = {s["dest"]: s for s in config_flags()}
    assert list(specs) == TrainConfig.field_names()
    for f in dataclasses.fields(TrainConfig):
        action, spec = actions[f.name], specs[f.name]
        assert action.option_strings == ["--" + f.name.replace("_", "-")]
        assert action.default is None  # absent: the config file's (or default) value holds
        assert action.help == spec["help"] and action.option_strings[0] in text
        allowed = tuple(preset_names()) if f.name == "chip" else f.metadata["choices"]
        # the parser's choices are the config's allowed values (validation checks them,
        # so a bad one gets the config's message naming the field)
        assert spec["choices"] == allowed
        if allowed:
            assert ", ".join(allowed) in " ".join(action.help.split())
        if f.default not in (None, False, "", ()):
            assert "(default " in action.help
    assert "ref45-prng" in specs["chip"]["help"]
    assert actions["bias"].const is True and actions["lut_bits"].type is int
    # per-layer fields: one integer or one per layer (neurosim.cli._per_layer)
    assert actions["weight_bits"].type("8") == 8
    assert actions["weight_bits"].type("16,8,16") == (16, 8, 16)
    assert actions["act_bits"].type("8") == 8
    assert actions["act_bits"].type("8,6,6,8") == (8, 6, 6, 8)


def test_paper_help_lists_every_experiment() -> None:
    from neurosim.cli import build_parser
    from neurosim.experiments.paper import EXPERIMENTS

    paper = build_parser()._subparsers._group_actions[0].choices["paper"]
    text = " ".join(paper.format_help().split()).replace("- ", "-")
    for name in EXPERIMENTS:
        assert name in text, name


def test_help_lists_every_flag() -> None:
    p = run("train", "--help")
    assert p.returncode == 0
    for flag in ("--rule", "--weight-bits", "--no-derivative", "--feedback-per-synapse",
                 "--bias", "--preset", "--config", "--json", "--no-progress", "--debug"):
        assert flag in p.stdout, flag  # fmt: skip
    assert "numerics options" in p.stdout and "ref45-prng" in p.stdout


def test_nested_config_file(tmp_path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        '[channel]\nrule = "rbp"\n[numerics]\nweight_bits = 12\nmode = "fixed"\n'
        '[network]\nhidden = [16]\n[optimizer]\nepochs = 1\n[dataset]\ndata = "digits"\n'
    )
    out = tmp_path / "r.json"
    p = run("train", "--config", str(cfg), "--weight-bits", "10", "--no-progress", "--json",
            str(out))  # fmt: skip
    assert p.returncode == 0, p.stderr
    c = json.loads(out.read_text())["config"]
    assert (c["rule"], c["weight_bits"], c["hidden"], c["mode"]) == ("rbp", 10, [16], "fixed")
