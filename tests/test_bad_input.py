"""A catalogue of bad inputs: every one stops before any work, with one line.

The contract (README, "Options"): a bad CLI flag, TOML config file, sweep
spec, chip preset or chip file, energy-table override file or data file is
rejected before anything runs; the CLI exits with code 2 and prints exactly
one line ``neurosim: error: ...`` on stderr naming the field's path (or the
file), the value and what is allowed; no traceback; nothing is written.

Each table below is one category; :data:`CASES` flattens them into
``(category, id, files, argv, expect)``: ``files`` maps a path relative to
the test's directory to its content (``str`` or ``bytes``; ``DIR`` makes a
directory), ``{tmp}`` in ``argv`` is that directory and ``expect`` is what
the line must contain (a string or a tuple of strings). The CLI runs in
process; training and sweep execution are replaced by a tripwire, so a case
that wrongly starts work fails loudly (the control tests show the tripwire
is reached by good inputs).
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from neurosim.cli import main

DIR = object()  # a ``files`` value: create a directory there
TRAIN = ["train", "--epochs", "1", "--hidden", "8", "--data", "digits", "--no-progress"]
JSON = ["--json", "{tmp}/r.json"]
SWEEP = ["sweep", "{tmp}/spec.toml", "--store", "{tmp}/s.db", "--no-progress", "--workers", "1"]
BASE = '[base]\ndata = "digits"\nepochs = 1\nhidden = [8]\n'  # a valid sweep [base]
NOT_UTF8 = b"rule = \xff\xfe\n"


class WorkStarted(AssertionError):
    """Raised by the tripwire: a run or a sweep point started."""


@pytest.fixture(autouse=True)
def tripwire(monkeypatch: pytest.MonkeyPatch) -> None:
    def started(*_args, **_kwargs):
        raise WorkStarted("a bad input got as far as training")

    monkeypatch.setattr("neurosim.experiments.train.train", started)
    monkeypatch.setattr("neurosim.experiments.sweep._run_points", started)
    monkeypatch.delenv("NEUROSIM_DATA", raising=False)


# ------------------------------------------------------------------ running
def materialize(tmp: Path, files: dict[str, object]) -> None:
    for rel, content in files.items():
        p = tmp / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if content is DIR:
            p.mkdir()
        elif isinstance(content, bytes):
            p.write_bytes(content)
        else:
            p.write_text(str(content))


def run_cli(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as e:  # argparse errors
        return e.code


def listing(tmp: Path) -> set[Path]:
    return set(tmp.rglob("*"))


def check(tmp: Path, capsys, files, argv, expect) -> str:
    """Run one case; assert the contract; return the error line."""
    materialize(tmp, files)
    before = listing(tmp)
    rc = run_cli([a.replace("{tmp}", str(tmp)) for a in argv])
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert rc == 2, (rc, out, err)
    assert len(lines) == 1 and lines[0].strip(), err
    line = lines[0]
    assert line.startswith("neurosim: error: "), line
    assert "Traceback" not in err
    for e in (expect,) if isinstance(expect, str) else expect:
        assert e in line, (e, line)
    assert out == "", out  # nothing ran, not even the run's header
    assert listing(tmp) == before, listing(tmp) - before  # no --json, store, csv, temp file
    return line


# ------------------------------------------------------------ IDX data sets
def idx(dims: tuple[int, ...], payload: bytes | None = None, head: bytes = b"\0\0\x08") -> bytes:
    """An IDX file: magic 00 00 <type>, ndim, big-endian dims, then the payload."""
    header = head + bytes([len(dims)]) + b"".join(d.to_bytes(4, "big") for d in dims)
    return header + (bytes(math.prod(dims)) if payload is None else payload)


def mnist(changes: dict[str, bytes | None] | None = None) -> dict[str, object]:
    """The four IDX files of a tiny valid MNIST set in ``mn/``, with some replaced."""
    files: dict[str, bytes | None] = {
        "train-images-idx3-ubyte": idx((6, 28, 28)),
        "train-labels-idx1-ubyte": idx((6,)),
        "t10k-images-idx3-ubyte": idx((4, 28, 28)),
        "t10k-labels-idx1-ubyte": idx((4,)),
    }
    files.update(changes or {})
    return {f"mn/{k}": v for k, v in files.items() if v is not None}


MNIST = [*TRAIN, "--data", "mnist", "--data-dir", "{tmp}/mn", *JSON]
HIGGS = [*TRAIN, "--data", "higgs", "--output", "sigmoid", "--data-dir", "{tmp}/hg", *JSON]


def higgs_text(n: int = 20) -> list[str]:
    """Lines of a tiny valid HIGGS file: label, then 28 features."""
    return [",".join([f"{i % 2}.0"] + [f"{(i * 29 + j) / 100:.6e}" for j in range(28)])
            for i in range(n)]  # fmt: skip


def higgs(lines: list[str] | None = None, gz: bool = True, raw: bytes | None = None) -> dict:
    """``hg/HIGGS.csv.gz`` (or ``.csv``) holding `lines` (or `raw` bytes)."""
    import gzip

    data = raw if raw is not None else ("\n".join(lines or higgs_text()) + "\n").encode()
    if gz and raw is None:
        data = gzip.compress(data)
    return {"hg/HIGGS.csv.gz" if gz else "hg/HIGGS.csv": data}


def _higgs_with(i: int, line: str) -> list[str]:
    lines = higgs_text()
    lines[i] = line
    return lines

# ------------------------------------------------------------------ tables
# (extra flags after TRAIN, expected substrings); every case also passes --json
CLI_FLAGS = [
    (["--weight-bits", "1"], "weight_bits = 1"),
    (["--weight-bits", "25"], "weight_bits = 25"),
    (["--act-bits", "17"], "act_bits = 17"),
    (["--feedback-bits", "1"], "feedback_bits = 1"),
    (["--lut-bits", "17"], "lut_bits = 17"),
    (["--acc-bits", "63"], "acc_bits = 63"),
    (["--error-word-bits", "30"], "error_word_bits = 30"),
    (["--weight-bits", "8", "--weight-int-bits", "8"], "weight_int_bits = 8"),
    (["--act-bits", "6", "--act-int-bits", "6"], "act_int_bits = 6"),
    (["--error-bits", "17"], "error_bits = 17"),
    (["--update-bits", "9"], "update_bits = 9"),
    (["--lr-frac", "0"], "lr_frac = 0"),
    (["--error-alpha-log2", "9"], "error_alpha_log2 = 9"),
    (["--mode", "fixed", "--error-bits", "4", "--error-alpha-log2", "-20"], "error_alpha_log2"),
    (["--rule", "magic"], ("rule = 'magic'", "srbp")),
    (["--act", "sin"], ("act = 'sin'", "tanh")),
    (["--output", "softplus"], ("output = 'softplus'", "softmax")),
    (["--data", "imagenet"], ("data = 'imagenet'", "mnist5k")),
    (["--mode", "half"], ("mode = 'half'", "fixed")),
    (["--rounding", "up"], ("rounding = 'up'", "stochastic")),
    (["--feedback", "weird"], ("feedback = 'weird'", "lowrank")),
    (["--feedback-dist", "cauchy"], ("feedback_dist = 'cauchy'", "uniform")),
    (["--packets", "sparse"], ("packets = 'sparse'", "event")),
    (["--chip", "nosuch"], ("chip = 'nosuch'", "ref45")),
    (["--hidden", "8,x"], "hidden = '8,x'"),
    (["--hidden", "8,,8"], "hidden = '8,,8'"),
    (["--hidden", "8,-1"], "hidden[1] = -1"),
    (["--hidden", "0"], "hidden[0] = 0"),
    (["--hidden", ""], "hidden = []"),
    (["--lr", "-1"], "lr = -1.0"),
    (["--lr", "0"], "lr = 0.0"),
    (["--lr", "nan"], "lr = nan"),
    (["--lr-decay", "1.5"], "lr_decay = 1.5"),
    (["--lr-decay", "0"], "lr_decay = 0.0"),
    (["--feedback-mean", "inf"], "feedback_mean = inf"),
    (["--epochs", "0"], "epochs = 0"),
    (["--batch", "0"], "batch = 0"),
    (["--batch", "70000"], "batch = 70000"),
    (["--feedback", "sparse"], "feedback_n = None"),
    (["--feedback", "sparse", "--feedback-n", "-1"], "feedback_n = -1"),
    (["--feedback", "sparse", "--feedback-n", "11"], ("feedback_n = 11", "fan-in 10")),
    (["--rule", "rbp", "--hidden", "8,4", "--feedback", "sparse", "--feedback-n", "5"],
     ("feedback_n = 5", "fan-in 4")),
    (["--feedback", "lowrank"], "rank = None"),
    (["--feedback", "lowrank", "--rank", "9"], ("rank = 9", "0 to 8")),
    (["--error-bits", "1", "--packets", "event"], ("packets = 'event'", "error_bits = 1")),
    (["--error-scale", "shared"], ("error_scale = 'shared'", "one of fixed, block")),
    (["--error-scale", "block"], ("error_scale = 'block'", "error_bits >= 1")),
    (["--error-scale", "block", "--error-bits", "0"], ("error_scale = 'block'", "error_bits")),
    (["--error-rounding", "up"], ("error_rounding = 'up'", "one of nearest, stochastic")),
    (["--error-rounding", "stochastic"], ("error_rounding = 'stochastic'", "error_bits >= 1")),
    (["--error-rounding", "stochastic", "--error-bits", "0"],
     ("error_rounding = 'stochastic'", "error_bits")),
    (["--seed", "-1"], "seed = -1"),
    (["--seed", "abc"], "--seed"),
    (["--seed", "1.5"], "--seed"),
    (["--weight-bits", "8.5"], "--weight-bits"),
    (["--weight-bits"], "--weight-bits"),
    (["--bogus"], "--bogus"),
    (["--config", "{tmp}/missing.toml"], "missing.toml"),
    (["--freeze", "9"], ("freeze[0] = 9", "an integer from 1 to")),
    (["--freeze", "top"], ("freeze = 'top'", "comma-separated")),
    (["--update-mode", "abs"], ("update_mode = 'abs'", "sign, magnitude")),
    (["--update-code-rounding", "up"],
     ("update_code_rounding = 'up'", "one of nearest, stochastic")),
    (["--update-code-rounding", "stochastic"],
     ("update_code_rounding = 'stochastic'", "update_bits >= 2")),
    (["--update-code-rounding", "stochastic", "--update-bits", "1"],
     ("update_code_rounding = 'stochastic'", "sign code")),
    (["--update-code-rounding", "stochastic", "--update-bits", "2", "--update-mode", "sign"],
     ("update_code_rounding = 'stochastic'", "update_mode = sign")),
    (["--feedback-sign", "concordant"], ("feedback_sign = 'concordant'", "rbp")),
    (["--channel-dropout", "1"], ("channel_dropout = 1.0", "[0, 1)")),
    (["--rule", "bp", "--feedback-resample"], ("feedback_resample = True", "no C^h")),
    (["--mode", "fixed", "--feedback-per-synapse"], ("feedback_per_synapse = True", "float")),
    (["--bias", "--feedback-per-synapse"], ("bias = True", "feedback_per_synapse")),
    (["--momentum", "1.0"], ("momentum = 1.0", "[0, 1)")),
    (["--momentum", "-0.5"], ("momentum = -0.5", "[0, 1)")),
    (["--momentum", "fast"], "--momentum"),
    (["--mode", "fixed", "--momentum", "0.9", "--velocity-bits", "8"],
     ("velocity_bits = 8", "weight_bits = 16")),
    (["--velocity-bits", "40"], ("velocity_bits = 40", "from 2 to 32")),
    (["--rule", "rbp", "--feedback-resample", "--conv", "c2k3p2s2", "--data", "digits"],
     ("feedback_resample = True", "with conv layers (not modelled there)")),
    (["--conv", "c2k3p2s2", "--data", "digits", "--hidden", "8", "--freeze", "4"],
     ("freeze[0] = 4", "an integer from 1 to 3")),
    (["--limit", "0"], "limit = 0"),
    (["--limit", "-3"], "limit = -3"),
    (["--input-int-bits", "8"], "input_int_bits = 8"),
    (["--preset", "cifar"], ("preset = 'cifar'", "one of: higgs")),
    (["--data", "higgs", "--output", "softmax", "--feedback", "sparse", "--feedback-n", "3"],
     ("feedback_n = 3", "fan-in 2")),
    (["--json", "{tmp}/no/such/dir/r.json"], "json = "),
    (["--json", "{tmp}"], "json = "),
]  # fmt: skip

# (config file content, expected substrings)
CONFIG_FILES = [
    ('rule = "srbp"\nepochs = = 3\n', ("cfg.toml", "line 2")),
    ('rule = "srbp\n', ("cfg.toml", "line 1")),
    ("wieght_bits = 8\n", ("wieght_bits = 8", "not a field")),
    ("[training]\nepochs = 1\n", ("training", "not a field")),
    ('epochs = "3"\n', ("epochs = '3'", "an integer")),
    ("weight_bits = 8.0\n", ("weight_bits = 8.0", "an integer")),
    ("batch = true\n", ("batch = True", "an integer")),
    ('feedback_n = "3"\n', ("feedback_n = '3'", "an integer")),
    ('error_scale = "block"\nerror_bits = 0\n', ("error_scale = 'block'", "error_bits >= 1")),
    ("error_scale = 1\n", ("error_scale = 1", "a string")),
    ('error_rounding = "stochastic"\nerror_bits = 0\n',
     ("error_rounding = 'stochastic'", "error_bits >= 1")),
    ('error_rounding = "floor"\n', ("error_rounding = 'floor'", "one of nearest, stochastic")),
    ('rule = ["bp"]\n', ("rule = ['bp']", "a string")),
    ('[rule]\nname = "bp"\n', ("rule = {'name': 'bp'}", "a string")),
    ("data_dir = 3\n", ("data_dir = 3", "a string")),
    ('lr = "fast"\n', ("lr = 'fast'", "a number")),
    ("lr = nan\n", ("lr = nan", "finite")),
    ("no_derivative = 1\n", ("no_derivative = 1", "true or false")),
    ("bias = 1\n", ("bias = 1", "true or false")),
    ("momentum = 1\n", ("momentum = 1", "[0, 1)")),
    ('momentum = "high"\n', ("momentum = 'high'", "a number")),
    ('hidden = [8, "x"]\n', ("hidden", "positive integers")),
    ('feedback = "sparse"\nfeedback_n = 500\n', ("feedback_n = 500", "fan-in 10")),
    ("weight_bits = 40\n", "weight_bits = 40"),
    ('preset = "cifar"\n', ("preset = 'cifar'", "one of: higgs")),
    ("preset = 3\n", ("preset = 3", "one of: higgs")),
    ("limit = 0\n", "limit = 0"),
    (NOT_UTF8, ("cfg.toml", "UTF-8")),
    (DIR, ("cfg.toml", "readable")),
]

# (spec content, extra flags, expected substrings); the --store must not appear
SWEEP_SPECS = [
    (BASE + '[grid]\nrule = ["bp"]\n', [], "grid = "),
    (BASE + '[sweep]\nname = "x"\nworkers = 2\n[axes]\nrule = ["bp"]\n', [], "sweep.workers"),
    ('[sweep]\nname = 3\n' + BASE + '[axes]\nrule = ["bp"]\n', [], "sweep.name = 3"),
    ('[base]\nepochz = 1\n[axes]\nrule = ["bp"]\n', [], "base.epochz"),
    (BASE + "[axes]\nwieght_bits = [8]\n", [], "axes.wieght_bits"),
    (BASE + "[axes]\nweight_bits = []\n", [], ("axes.weight_bits = []", "non-empty")),
    (BASE + "[axes]\nweight_bits = 8\n", [], ("axes.weight_bits = 8", "list")),
    (BASE + "[zip.w]\nweight_bits = [8, 16]\nact_bits = [6]\n", [], ("zip.w.act_bits", "2 values")),
    (BASE + "[zip.w]\n", [], "zip.w = {}"),
    (BASE + "[axes]\nweight_bits = [8]\n[zip.w]\nweight_bits = [8]\n", [], "zip.w.weight_bits"),
    (BASE + "[axes]\nweight_bits = [8, 99]\n", [], ("axes.weight_bits[1] = 99", "2 to 24")),
    (BASE + '[axes]\nweight_bits = [8, "x"]\n', [], "axes.weight_bits[1] = 'x'"),
    (BASE + "[axes]\nlr = [0.1, -0.1]\n", [], "axes.lr[1] = -0.1"),
    (BASE + "[axes]\nhidden = [[8], [0]]\n", [], "axes.hidden[1][0] = 0"),
    (BASE + "[zip.w]\nweight_bits = [8, 16]\nweight_int_bits = [1, 20]\n", [],
     "zip.w.weight_int_bits[1] = 20"),
    (BASE + '[axes]\nerror_bits = [1, 2]\npackets = ["event"]\n', [], "axes.packets[0]"),
    (BASE + '[axes]\nchip = ["small", "nosuch"]\n', [], "axes.chip[1] = 'nosuch'"),
    (BASE + '[axes]\nfeedback = ["sparse"]\nfeedback_n = [3, 500]\n', [],
     ("axes.feedback_n[1] = 500", "fan-in 10")),
    (BASE + '[axes]\nrule = ["bp", "srbp"]\n[[exclude]]\nweight_bits = 8\n', [],
     ("exclude[0].weight_bits", "a swept key")),
    (BASE + '[axes]\nrule = ["bp"]\n[[exclude]]\nrule = "srbp"\n', [], "exclude[0].rule = 'srbp'"),
    (BASE + '[axes]\nrule = ["bp"]\n[[exclude]]\nrule = "bp"\n', [], "exclude = 1"),
    ('[base]\nepochs = 0\n[axes]\nrule = ["bp"]\n', [], "base.epochs = 0"),
    ('[base]\nepochs = "1"\n[axes]\nrule = ["bp"]\n', [], "base.epochs = '1'"),
    ('[base]\nchip = "nosuch"\n[axes]\nrule = ["bp"]\n', [], "base.chip = 'nosuch'"),
    (BASE + '[axes]\nrule = ["bp" \n', [], ("spec.toml", "valid TOML")),
    (NOT_UTF8, [], ("spec.toml", "UTF-8")),
    (BASE + '[axes]\nrule = ["bp"]\n', ["--workers", "0"], "workers = 0"),
    (BASE + '[axes]\nrule = ["bp"]\n', ["--workers", "x"], "--workers"),
]  # fmt: skip

# (chip file content, how it is used, expected substrings)
CHIP = ["chip", "{tmp}/mychip.toml"]
CHIP_FILES = [
    ('base = "small"\ncolour = "red"\n', CHIP, ("colour = 'red'", "not a field")),
    ('base = "small"\n[tile]\nfoo = 1\n', CHIP, "tile.foo = 1"),
    ('base = "small"\n[links.warp]\nwidth_bits = 4\n', CHIP, "links.warp"),
    ('base = "small"\n[tile]\nrows = -4\n', CHIP, "tile.rows = -4"),
    ('base = "small"\n[links.skip_bus]\nwidth_bits = -1\n', CHIP, "links.skip_bus.width_bits = -1"),
    ('base = "small"\n[tile]\nsram_kib = 0\n', CHIP, "tile.sram_kib = 0"),
    ('base = "small"\n[tile]\nrows = 64\ncols = 64\n', CHIP, ("tile.sram_kib = 0.5", "64 x 64")),
    ('base = "small"\n[tile]\nmacs_per_cycle = 1000\n', CHIP, "tile.macs_per_cycle = 1000"),
    ('base = "small"\nn_tiles = 2.0\n', CHIP, "n_tiles = 2.0"),
    ('base = "small"\ntile = 5\n', CHIP, "tile = 5"),
    ('base = "small"\nclock_mhz = inf\n', CHIP, "clock_mhz = inf"),
    ('base = "small"\nnode_nm = 3\n', CHIP, ("node_nm = 3", "7 to 130")),
    ('base = "small"\nnode_nm = "45nm"\n', CHIP, "node_nm = '45nm'"),
    ('base = "small"\nfeedback_storage = "rom"\n', CHIP, "feedback_storage = 'rom'"),
    ('base = "small"\n[links.forward]\narbitration = "x"\n', CHIP, "links.forward.arbitration"),
    ('base = "huge"\n', CHIP, ("base = 'huge'", "ref45")),
    ('base = "small"\n[tile\nrows = 4\n', CHIP, ("mychip.toml", "line 2")),
    (NOT_UTF8, CHIP, ("mychip.toml", "UTF-8")),
    ('base = "small"\n[energy_overrides]\nadd = -1\n', CHIP, "energy_overrides.add = -1"),
    ('base = "small"\n[energy_overrides]\nfoo = 1\n', CHIP, "energy_overrides.foo = 1"),
    ('base = "small"\nenergy_overrides = "no.toml"\n', CHIP, ("energy_overrides", "no.toml")),
    (None, ["chip", "nosuch"], ("chip = 'nosuch'", "ref45")),
    (None, ["chip", "{tmp}/absent.toml"], "absent.toml"),
    ('base = "small"\n[tile]\nrows = -4\n', [*TRAIN, "--chip", "{tmp}/mychip.toml", *JSON],
     ("chip = ", "mychip.toml", "tile.rows = -4")),
    ('base = "small"\nnode_nm = 500\n', [*TRAIN, "--chip", "{tmp}/mychip.toml", *JSON],
     ("mychip.toml", "node_nm = 500")),
]  # fmt: skip

# (override file content, expected substrings), used as `neurosim chip small --energy FILE`
ENERGY = ["chip", "small", "--energy", "{tmp}/energy.toml"]
ENERGY_FILES = [
    ("foo = 1\n", ("energy.foo = 1", "a row of the energy table")),
    ("add = -0.5\n", ("energy.add = -0.5", "non-negative")),
    ("sram_read = -1e-3\n", "energy.sram_read = -0.001"),
    ("add = nan\n", "energy.add = nan"),
    ('add = "cheap"\n', "energy.add = 'cheap'"),
    ("[add]\nenergy = 1\n", "energy.add.energy = 1"),
    ("[add]\nnode_nm = 45\n", "energy.add.energy_pj = None"),
    ("[add]\nenergy_pj = -1\n", "energy.add.energy_pj = -1"),
    ("[add]\nenergy_pj = 1\nnode_nm = 2\n", "energy.add.node_nm = 2"),
    ("[add]\nenergy_pj = 1\nsource = 3\n", "energy.add.source = 3"),
    ("add = = 1\n", ("energy = ", "energy.toml", "line 1")),
    (NOT_UTF8, ("energy.toml", "UTF-8")),
    (None, ("energy = ", "energy.toml", "readable")),
]

# (name, files, expected substrings); run with --data mnist --data-dir {tmp}/mn
_IMAGES = idx((6, 28, 28))
DATA_FILES = [
    ("truncated images", mnist({"train-images-idx3-ubyte": _IMAGES[:-100]}),
     ("train-images-idx3-ubyte", "truncated IDX file")),
    ("truncated header", mnist({"train-images-idx3-ubyte": _IMAGES[:10]}),
     ("train-images-idx3-ubyte", "truncated IDX header")),
    ("empty images", mnist({"train-images-idx3-ubyte": b""}),
     ("train-images-idx3-ubyte", "0 bytes")),
    ("trailing byte", mnist({"train-images-idx3-ubyte": _IMAGES + b"\0"}),
     ("train-images-idx3-ubyte", "trailing")),
    ("wrong magic", mnist({"train-images-idx3-ubyte": b"\x08\x03" + _IMAGES[2:]}),
     ("train-images-idx3-ubyte", "magic")),
    ("corrupt gzip", mnist({"train-images-idx3-ubyte": b"\x1f\x8b" + b"not gzip"}),
     ("train-images-idx3-ubyte", "cannot read")),
    ("float32 labels", mnist({"t10k-labels-idx1-ubyte": idx((4,), bytes(16), head=b"\0\0\x0d")}),
     ("t10k-labels-idx1-ubyte", "type code 0x0D")),
    ("2-D labels", mnist({"train-labels-idx1-ubyte": idx((6, 1))}),
     ("train-labels-idx1-ubyte", "1-D")),
    ("2-D images", mnist({"train-images-idx3-ubyte": idx((6, 784))}),
     ("train-images-idx3-ubyte", "3-D")),
    ("6 images, 5 labels", mnist({"train-labels-idx1-ubyte": idx((5,))}),
     ("train-images-idx3-ubyte holds 6 images", "train-labels-idx1-ubyte holds 5 labels")),
    ("label 12", mnist({"t10k-labels-idx1-ubyte": idx((4,), bytes([12] * 4))}),
     ("t10k-labels-idx1-ubyte", "label 12")),
    ("test images 14x14", mnist({"t10k-images-idx3-ubyte": idx((4, 14, 14))}),
     ("t10k-images-idx3-ubyte", "(14, 14)")),
    ("labels file missing", mnist({"t10k-labels-idx1-ubyte": None}),
     ("not found", "mn: missing t10k-labels-idx1-ubyte")),
    ("missing directory", {}, ("not found", "mn: no such directory", "--data-dir")),
    ("data dir is a file", {"mn": "a file, not a directory"}, ("not found", "mn: no such")),
]  # fmt: skip

# (name, files, expected substrings): HIGGS.csv.gz, run with HIGGS argv
HIGGS_FILES = [
    ("higgs missing", {"hg/other.csv": "x"}, ("'higgs' not found", "HIGGS.csv.gz", "UCI")),
    ("higgs 28 columns", higgs(_higgs_with(5, "1.0," + ",".join(["0.5"] * 27))),
     ("HIGGS.csv.gz, line 6", "28 columns, expected 29")),
    ("higgs 30 columns", higgs(_higgs_with(0, "1.0," + ",".join(["0.5"] * 29)), gz=False),
     ("HIGGS.csv, line 1", "30 columns")),
    ("higgs not a number", higgs(_higgs_with(3, "0.0," + ",".join(["0.5"] * 26) + ",x1,0.5")),
     ("line 4, column 28", "'x1' is not a number")),
    ("higgs label 3", higgs(_higgs_with(7, "3.0," + ",".join(["0.5"] * 28))),
     ("line 8", "label 3.0 is not 0 or 1")),
    ("higgs truncated gzip", higgs(raw=__import__("gzip").compress(
        ("\n".join(higgs_text(400)) + "\n").encode())[:-700]),
     ("HIGGS.csv.gz", "truncated")),
    ("higgs corrupt gzip", higgs(raw=b"\x1f\x8bnot gzip at all"), ("HIGGS.csv.gz", "cannot read")),
    ("higgs empty", higgs(raw=b""), ("HIGGS.csv.gz", "no data lines")),
    ("higgs binary junk", higgs(raw=bytes(range(256)) * 4), "HIGGS.csv.gz"),
]  # fmt: skip

# (files, argv, expected substrings): output paths of the other commands
OTHER = [
    ({"junk.db": "not sqlite"}, ["results", "{tmp}/junk.db"], "junk.db"),
    ({}, ["results", "{tmp}/absent.db"], ("store = ", "absent.db")),
    ({}, ["report", "{tmp}/absent.db", "-o", "{tmp}/rep"], "absent.db"),
    ({"s.db": "x"}, ["results", "{tmp}/s.db", "--csv", "{tmp}/no/dir/out.csv"], "csv = "),
    ({"s.db": "x"}, ["report", "{tmp}/s.db", "-o", "{tmp}/s.db"], "out = "),
    ({"spec.toml": BASE + '[axes]\nrule = ["bp"]\n', "junk.db": "not sqlite"},
     ["sweep", "{tmp}/spec.toml", "--store", "{tmp}/junk.db", "--no-progress"], "junk.db"),
    ({"spec.toml": BASE + '[axes]\nrule = ["bp"]\n', "f": "a file"},
     ["sweep", "{tmp}/spec.toml", "--store", "{tmp}/f/s.db", "--no-progress"], "f/s.db"),
    ({}, ["frobnicate"], "frobnicate"),
    ({}, ["paper", "cifar99", "-o", "{tmp}/p"],
     ("experiment = 'cifar99'", "convolution-cifar, all", "rules")),
    ({}, ["paper", "higgs", "--data-dir", "{tmp}/none", "-o", "{tmp}/p"],
     ("'higgs' not found", "archive.ics.uci.edu")),
    (higgs(), ["paper", "higgs", "--data-dir", "{tmp}/hg", "-o", "{tmp}/p", "--epochs", "0"],
     "epochs = 0"),
    (higgs(), ["paper", "higgs", "--data-dir", "{tmp}/hg", "-o", "{tmp}/p", "--mode", "x"],
     "mode = 'x'"),
    ({"p": "a file"}, ["paper", "higgs", "-o", "{tmp}/p"], "out = "),
]  # fmt: skip


def _cmd(argv: list[str]) -> str:
    return " ".join(argv).replace("{tmp}", "$TMP")


def _short(content) -> str:
    if content is None:
        return "(no file)"
    if content is DIR:
        return "(a directory)"
    text = content.replace(BASE, "") if isinstance(content, str) else repr(content)
    return " | ".join(text.strip().splitlines())[:70]


# Every case as (category, id, files, argv, expect): the tests and the catalogue use these.
CASES: list[tuple[str, str, dict[str, object], list[str], object]] = [
    *(("CLI flags", _cmd(a) or '--hidden ""', {},
       [*TRAIN, *a, *([] if "--json" in a else JSON)], e) for a, e in CLI_FLAGS),
    *(("config file", _short(c), {"cfg.toml": c}, [*TRAIN, "--config", "{tmp}/cfg.toml", *JSON], e)
      for c, e in CONFIG_FILES),
    *(("sweep spec", _short(c) + (" " + " ".join(f) if f else ""),
       {"spec.toml": c}, [*SWEEP, *f], e) for c, f, e in SWEEP_SPECS),
    *(("chip file", _short(c) + (" (train --chip)" if a[0] == "train" else "") if c is not None
       else _cmd(a), {} if c is None else {"mychip.toml": c}, a, e) for c, a, e in CHIP_FILES),
    *(("energy file", _short(c), {} if c is None else {"energy.toml": c}, ENERGY, e)
      for c, e in ENERGY_FILES),
    *(("data file", n, f, MNIST, e) for n, f, e in DATA_FILES),
    *(("data file", n, f, HIGGS, e) for n, f, e in HIGGS_FILES),
    *(("other commands", _cmd(a), f, a, e) for f, a, e in OTHER),
]  # fmt: skip


def _params(category: str) -> list:
    return [
        pytest.param(files, argv, expect, id=f"{i}-{name}")
        for i, (cat, name, files, argv, expect) in enumerate(
            c for c in CASES if c[0] == category
        )
    ]


def test_catalogue_size() -> None:
    assert len(CASES) >= 40
    assert len({(c[0], c[1]) for c in CASES}) == len(CASES)  # every case is distinct


@pytest.mark.parametrize("files, argv, expect", _params("CLI flags"))
def test_cli_flag(tmp_path, capsys, files, argv, expect) -> None:
    check(tmp_path, capsys, files, argv, expect)


@pytest.mark.parametrize("files, argv, expect", _params("config file"))
def test_config_file(tmp_path, capsys, files, argv, expect) -> None:
    check(tmp_path, capsys, files, argv, expect)


@pytest.mark.parametrize("files, argv, expect", _params("sweep spec"))
def test_sweep_spec(tmp_path, capsys, files, argv, expect) -> None:
    check(tmp_path, capsys, files, argv, expect)


@pytest.mark.parametrize("files, argv, expect", _params("chip file"))
def test_chip_file(tmp_path, capsys, files, argv, expect) -> None:
    check(tmp_path, capsys, files, argv, expect)


@pytest.mark.parametrize("files, argv, expect", _params("energy file"))
def test_energy_file(tmp_path, capsys, files, argv, expect) -> None:
    check(tmp_path, capsys, files, argv, expect)


@pytest.mark.parametrize("files, argv, expect", _params("data file"))
def test_data_file(tmp_path, capsys, files, argv, expect) -> None:
    check(tmp_path, capsys, files, argv, expect)


@pytest.mark.parametrize("files, argv, expect", _params("other commands"))
def test_other_command(tmp_path, capsys, files, argv, expect) -> None:
    check(tmp_path, capsys, files, argv, expect)


def test_debug_shows_the_traceback_instead(tmp_path, capsys) -> None:
    from neurosim.errors import ConfigError

    with pytest.raises(ConfigError, match="weight_bits"):
        main([TRAIN[0], "--debug", *TRAIN[1:], "--weight-bits", "1"])
    assert capsys.readouterr().err == ""


# ------------------------------------------------------------ controls
# The same inputs, made good, get as far as the tripwire: the cases above fail
# for the reason they show, not for an unrelated one.
@pytest.mark.parametrize(
    "files, argv",
    [
        pytest.param({}, [*TRAIN, *JSON], id="flags"),
        pytest.param({"cfg.toml": 'rule = "rbp"\nweight_bits = 8\n'},
                     [*TRAIN, "--config", "{tmp}/cfg.toml"], id="config"),
        pytest.param({"spec.toml": BASE + '[axes]\nrule = ["bp"]\n'}, SWEEP, id="sweep"),
        pytest.param({"mychip.toml": 'base = "small"\nnode_nm = 28\n'},
                     [*TRAIN, "--chip", "{tmp}/mychip.toml"], id="chip"),
        pytest.param(mnist(), MNIST, id="data"),
        pytest.param(higgs(), HIGGS, id="higgs"),
        pytest.param(higgs(), ["paper", "higgs", "--quick", "--data-dir", "{tmp}/hg", "-o",
                               "{tmp}/p", "--no-progress"], id="paper"),
    ],
)  # fmt: skip
def test_good_input_reaches_the_tripwire(tmp_path, capsys, files, argv) -> None:
    materialize(tmp_path, files)
    with pytest.raises(WorkStarted):
        run_cli([a.replace("{tmp}", str(tmp_path)) for a in argv])


def test_good_chip_and_energy_files_print(tmp_path, capsys) -> None:
    materialize(tmp_path, {"mychip.toml": 'base = "small"\n', "energy.toml": "add = 0.02\n"})
    assert run_cli(["chip", str(tmp_path / "mychip.toml")]) == 0
    assert run_cli(["chip", "small", "--energy", str(tmp_path / "energy.toml")]) == 0
    assert capsys.readouterr().err == ""
