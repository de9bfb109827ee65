"""Importers of published benchmarks: value-for-value against the sources, and bad input.

The real files live in ../shared/benchmarks (never copied into the repo); tests that
need them convert at run time into a temporary folder and skip when they are absent.
"""

from __future__ import annotations

import bz2
import csv
import json
import pickle
import subprocess
import sys

import numpy as np
import pytest

from naslab.benchmarks.convert import main as convert_main
from naslab.benchmarks.importers.common import SourceFileError
from naslab.benchmarks.importers.nb201_pth import import_nb201_official
from naslab.benchmarks.tabular import load_benchmark
from naslab.spaces.macro import MacroSpace
from naslab.spaces.nb201 import NB201Space
from naslab.testing import ImporterContract

CSV_12 = "nb201-cifar10-12ep/cifar10_12ep_seedmean.csv"
CSV_200 = "nb201-cifar10-valid-200ep/cifar10-valid_200ep_seedmean.csv"
LATENCY = "nb201-latency/nb201_latency_ms_23devices.csv"
MACRO = "nas-bench-macro/nas-bench-macro_cifar10.json"


def read_csv(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def nb201_file(tmp_path_factory, shared_benchmarks):
    shared = shared_benchmarks
    out = tmp_path_factory.mktemp("imported") / "nb201_c10.h5"
    assert convert_main(["nb201_c10", str(shared / CSV_12), str(shared / CSV_200), str(out),
                         "--latency", str(shared / LATENCY)]) == 0
    return out


@pytest.fixture(scope="module")
def macro_file(tmp_path_factory, shared_benchmarks):
    shared = shared_benchmarks
    out = tmp_path_factory.mktemp("imported") / "nasbench_macro.h5"
    assert convert_main(["nasbench_macro", str(shared / MACRO), str(out)]) == 0
    return out


# ----- NB201 CIFAR-10 CSVs ---------------------------------------------------------------
@pytest.mark.shared
def test_nb201_values_match_both_csvs_value_for_value(nb201_file, shared_benchmarks):
    bench = load_benchmark(nb201_file)
    assert bench.epochs.tolist() == [12, 200] and bench.seeds.tolist() == [-1]
    rows12 = read_csv(shared_benchmarks / CSV_12)
    rows200 = read_csv(shared_benchmarks / CSV_200)
    i12 = np.array([int(r["index"]) for r in rows12])
    i200 = np.array([int(r["index"]) for r in rows200])
    assert [bench.archs[i] for i in i12] == [r["arch"] for r in rows12]
    assert [bench.archs[i] for i in i200] == [r["arch_str"] for r in rows200]

    def col(rows, name):
        return np.array([float(r[name]) for r in rows], dtype=np.float32)

    m = bench.metrics
    np.testing.assert_array_equal(m["val_acc"][i12, 0, 0], col(rows12, "cifar10_valid_val_acc_12ep"))
    np.testing.assert_array_equal(m["cifar10_test_acc"][i12, 0, 0], col(rows12, "cifar10_test_acc_12ep"))
    for ours, theirs in [("val_acc", "valid-accuracy"), ("val_loss", "valid-loss"), ("test_acc", "test-accuracy"),
                         ("test_loss", "test-loss"), ("train_acc", "train-accuracy"), ("train_loss", "train-loss")]:
        np.testing.assert_array_equal(m[ours][i200, 0, 1], col(rows200, theirs), err_msg=ours)
    # never substituted: what a source lacks is NaN, not the other dataset's value
    assert np.isnan(m["test_acc"][:, 0, 0]).all() and np.isnan(m["cifar10_test_acc"][:, 0, 1]).all()
    # the cost model: epochs x per-epoch training time + one validation pass
    per_epoch = np.array([float(r["train-per-time"]) for r in rows200])
    valid_pass = np.array([float(r["valid-per-time"]) for r in rows200])
    total = np.array([float(r["train-all-time"]) for r in rows200])
    np.testing.assert_allclose(m["train_time_s"][i200, 0, 0], 12 * per_epoch + valid_pass, rtol=1e-6)
    np.testing.assert_allclose(m["train_time_s"][i200, 0, 1], total + valid_pass, rtol=1e-6)
    np.testing.assert_array_equal(bench.static["train_epoch_time_s"][i200], per_epoch.astype(np.float32))
    # the published optimum (README: 91.607 at index 6111)
    assert int(np.argmax(bench.table("val_acc", 200))) == 6111


@pytest.mark.shared
def test_nb201_latencies_match_the_csv(nb201_file, shared_benchmarks):
    bench = load_benchmark(nb201_file)
    rows = read_csv(shared_benchmarks / LATENCY)
    devices = [c for c in rows[0] if c.startswith("latency_ms_")]
    assert len(devices) == 27 and set(devices) <= set(bench.static)
    index = np.array([int(r["index"]) for r in rows])
    for device in devices:
        expected = np.array([float(r[device]) for r in rows], dtype=np.float32)
        np.testing.assert_array_equal(bench.static[device][index], expected, err_msg=device)
    assert bench.attrs["units"]["latency_ms_pixel3"] == "milliseconds"


@pytest.mark.shared
def test_nb201_provenance_names_sources_licences_and_meanings(nb201_file):
    attrs = load_benchmark(nb201_file).attrs
    assert set(attrs["source"]) == {"12ep", "200ep", "latency"}
    assert attrs["source"]["200ep"]["commit"] == "abd5221" and "MIT" in attrs["licence"]
    assert "cifar10 (a different training" in attrs["description"]["cifar10_test_acc"]
    assert "x-valid" in attrs["description"]["val_acc"]


@pytest.mark.shared
def test_latency_can_be_merged_into_an_existing_nb201_file(nb201_file, shared_benchmarks, tmp_path):
    plain = tmp_path / "plain.h5"
    merged = tmp_path / "merged.h5"
    assert convert_main(["nb201_c10", str(shared_benchmarks / CSV_12), str(shared_benchmarks / CSV_200), str(plain)]) == 0
    assert not any(k.startswith("latency") for k in load_benchmark(plain).static)
    assert convert_main(["nb201_latency", str(shared_benchmarks / LATENCY), str(plain), str(merged)]) == 0
    a, b = load_benchmark(merged), load_benchmark(nb201_file)
    np.testing.assert_array_equal(a.static["latency_ms_raspi4"], b.static["latency_ms_raspi4"])
    np.testing.assert_array_equal(a.metrics["val_acc"], b.metrics["val_acc"])


# ----- NAS-Bench-Macro -------------------------------------------------------------------
@pytest.mark.shared
def test_macro_values_match_the_json(macro_file, shared_benchmarks):
    bench = load_benchmark(macro_file)
    records = json.loads((shared_benchmarks / MACRO).read_text())
    space = MacroSpace()
    assert len(records) == space.size == bench.num_archs
    index = np.array([bench.index_of(key) for key in records])
    acc = np.array([r["test_acc"] for r in records.values()], dtype=np.float32)
    np.testing.assert_array_equal(bench.metrics["test_acc"][index, :, 0], acc)
    np.testing.assert_array_equal(bench.metrics["val_acc"], bench.metrics["test_acc"])
    np.testing.assert_allclose(bench.static["params"][index], [r["params"] / 1e6 for r in records.values()], rtol=1e-6)
    np.testing.assert_allclose(bench.static["flops"][index], [r["flops"] / 1e6 for r in records.values()], rtol=1e-6)
    np.testing.assert_allclose(bench.table("test_acc")[index], [r["mean_acc"] for r in records.values()], atol=1e-4)
    best = bench.archs[int(np.argmax(bench.table("test_acc")))]  # README: 93.127 at 22212220 (and its equivalents)
    assert space.canonical(space.from_string(best)) == space.canonical(space.from_string("22212220"))
    assert float(np.max(bench.table("test_acc"))) == pytest.approx(93.127, abs=1e-3)
    assert "no validation" in bench.attrs["description"]["val_acc"]
    assert bench.attrs["licence"] == "Apache-2.0"


# ----- official NB201 / NATS-Bench pickles (fixture in the documented structure) ----------
def _results_count(seed, epochs, valid_acc, test_acc, cifar10=False):
    """A ResultsCount state dict as the NB201 API stores it (only the fields we read + some)."""
    evals = ["ori-test"] if cifar10 else ["x-valid", "ori-test"]
    accs = {f"{name}@{e}": (test_acc if name == "ori-test" else valid_acc) - (epochs - 1 - e) for name in evals
            for e in range(epochs)}
    return {
        "name": "cifar10", "net_state_dict": None, "seed": seed, "epochs": epochs,
        "train_acc1es": {e: 50.0 + e for e in range(epochs)}, "train_acc5es": None,
        "train_losses": {e: 2.0 / (e + 1) for e in range(epochs)},
        "train_times": {e: 10.0 for e in range(epochs)},
        "arch_config": {"channel": 16, "num_cells": 5}, "params": 0.5, "flop": 70.0, "latency": [0.01],
        "eval_names": evals, "eval_acc1es": accs,
        "eval_losses": {k: 0.5 for k in accs}, "eval_times": {k: 2.0 for k in accs},
    }


def _arch_results(index, arch, epochs, valid_acc):
    results = {("cifar10-valid", s): _results_count(s, epochs, valid_acc + s % 7, 80.0 + s % 5) for s in (777, 888)}
    results[("cifar10", 777)] = _results_count(777, epochs, 0.0, 85.0, cifar10=True)
    return {"arch_index": index, "arch_str": arch, "all_results": results,
            "dataset_seed": {"cifar10-valid": [777, 888], "cifar10": [777]}, "clear_net_done": True}


@pytest.fixture(scope="module")
def official_dict():
    space = NB201Space()
    meta = [space.to_string(space.arch(i)) for i in range(space.size)]
    infos = {i: {"less": _arch_results(i, meta[i], 12, 70.0 + i), "full": _arch_results(i, meta[i], 200, 85.0 + i)}
             for i in (0, 5, 6111)}
    return {"meta_archs": meta, "arch2infos": infos, "evaluated_indexes": sorted(infos)}


@pytest.mark.parametrize("suffix", [".pickle", ".pickle.pbz2", ".pth"])
def test_official_file_import_reads_the_documented_structure(official_dict, tmp_path, suffix):
    path = tmp_path / f"NAS-Bench-201-fixture{suffix}"
    if suffix == ".pth":
        torch = pytest.importorskip("torch", reason="torch is needed to write a .pth fixture")
        torch.save(official_dict, path)
    else:
        opener = bz2.open if suffix.endswith("pbz2") else open
        with opener(path, "wb") as handle:
            pickle.dump(official_dict, handle)
    out = tmp_path / "out.h5"
    assert convert_main(["nb201_pth", str(path), str(out)]) == 0
    bench = load_benchmark(out)
    assert bench.seeds.tolist() == [777, 888] and bench.epochs.tolist() == [12, 200]
    m = bench.metrics
    # index 5, seed 888 (+888 % 7 = 6), last epoch of each run
    assert m["val_acc"][5, 1, 0] == pytest.approx(70.0 + 5 + 6)
    assert m["val_acc"][5, 1, 1] == pytest.approx(85.0 + 5 + 6)
    assert m["test_acc"][6111, 0, 1] == pytest.approx(80.0 + 777 % 5)
    assert m["train_acc"][0, 0, 1] == pytest.approx(50.0 + 199)
    assert m["train_time_s"][0, 0, 0] == pytest.approx(12 * 10.0 + 2.0)  # 12 epochs + one x-valid pass
    assert m["train_time_s"][0, 0, 1] == pytest.approx(200 * 10.0 + 2.0)
    # cifar10 (train+valid) is a different training: its own name, seed 888 absent
    assert m["cifar10_test_acc"][5, 0, 1] == pytest.approx(85.0)
    assert np.isnan(m["cifar10_test_acc"][5, 1, 1])
    assert bench.complete.sum() == 3 and bench.complete[[0, 5, 6111]].all()
    assert np.isnan(m["val_acc"][1]).all()
    assert bench.static["params"][5] == pytest.approx(0.5)


def test_official_import_rejects_a_file_of_another_structure(tmp_path):
    path = tmp_path / "not_nb201.pickle"
    path.write_bytes(pickle.dumps({"hello": 1}))
    with pytest.raises(SourceFileError, match="not an NB201/NATS-Bench topology file"):
        import_nb201_official(path)
    path.write_bytes(b"\x80\x04garbage")
    with pytest.raises(SourceFileError, match="could not be unpickled"):
        import_nb201_official(path)


# ----- the command line: errors are one sentence, no traceback, no partial output ----------
def _run_cli(*args):
    return subprocess.run([sys.executable, "-m", "naslab.benchmarks.convert", *args],
                          capture_output=True, text=True, timeout=60)


def _assert_one_sentence_error(proc, *fragments):
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ") and "Traceback" not in proc.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_cli_missing_source_is_one_sentence_and_writes_nothing(tmp_path):
    out = tmp_path / "out.h5"
    proc = _run_cli("nasbench_macro", str(tmp_path / "missing.json"), str(out))
    _assert_one_sentence_error(proc, "missing.json", "does not exist")
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_cli_malformed_sources_are_one_sentence(tmp_path):
    bad_csv = tmp_path / "bad.csv"
    bad_csv.write_text("index,arch\n0,|none~0|+|none~0|none~1|+|none~0|none~1|none~2|\n")
    out = tmp_path / "out.h5"
    _assert_one_sentence_error(_run_cli("nb201_c10", str(bad_csv), str(bad_csv), str(out)),
                               "lacks the column(s)", "cifar10_valid_val_acc_12ep")
    bad_json = tmp_path / "bad.json"
    bad_json.write_text('{"22212220": {"test_acc": [1, 2, 3]')
    _assert_one_sentence_error(_run_cli("nasbench_macro", str(bad_json), str(out)), "is not valid JSON")
    bad_json.write_text('{"9": {"test_acc": [1, 2, 3], "params": 1, "flops": 1}}')
    _assert_one_sentence_error(_run_cli("nasbench_macro", str(bad_json), str(out)), "6561")
    assert not out.exists()


@pytest.mark.shared
def test_cli_truncated_nb201_csv_names_the_row_count(tmp_path, shared_benchmarks):
    lines = (shared_benchmarks / CSV_12).read_text().splitlines()
    truncated = tmp_path / "truncated.csv"
    truncated.write_text("\n".join(lines[:100]) + "\n")
    proc = _run_cli("nb201_c10", str(truncated), str(shared_benchmarks / CSV_200), str(tmp_path / "out.h5"))
    _assert_one_sentence_error(proc, "99 rows", "15625")


def test_cli_help_lists_every_format():
    proc = _run_cli("--help")
    assert proc.returncode == 0
    for name in ("nb201_c10", "nb201_latency", "nasbench_macro", "nb201_pth"):
        assert name in proc.stdout


def test_official_import_reads_a_nats_archive_folder(official_dict, tmp_path):
    archive = tmp_path / "NATS-tss-v1_0-fixture-simple"
    archive.mkdir()
    with bz2.open(archive / "meta.pickle.pbz2", "wb") as handle:
        pickle.dump({"meta_archs": official_dict["meta_archs"], "evaluated_indexes": [0, 5, 6111]}, handle)
    for index, infos in official_dict["arch2infos"].items():  # NATS keys hps as "12" / "200"
        with bz2.open(archive / f"{index:06d}.pickle.pbz2", "wb") as handle:
            pickle.dump({"12": infos["less"], "200": infos["full"]}, handle)
    bench = import_nb201_official(archive)
    assert bench.complete.sum() == 3
    assert bench.metrics["val_acc"][5, 1, 1] == pytest.approx(85.0 + 5 + 6)
    (archive / "meta.pickle.pbz2").unlink()
    with pytest.raises(SourceFileError, match="without meta.pickle.pbz2"):
        import_nb201_official(archive)


# ----- the importer contract (naslab.testing.ImporterContract) ----------------------------
class TestNB201OfficialImporterContract(ImporterContract):
    """The official-file importer on the documented-structure fixture (3 of 15,625 cells trained)."""

    @pytest.fixture
    def imported(self, official_dict, tmp_path):
        # the shared fixture's accuracies grow with the index (up to 6,000 %); keep them in percent here
        infos = {i: {"less": _arch_results(i, official_dict["meta_archs"][i], 12, 70.0 + i % 10),
                     "full": _arch_results(i, official_dict["meta_archs"][i], 200, 85.0 + i % 10)}
                 for i in official_dict["evaluated_indexes"]}
        for info in infos.values():
            for run in (r for part in info.values() for r in part["all_results"].values()):
                run["train_acc1es"] = {e: 50.0 + e / 4 for e in run["train_acc1es"]}
        path = tmp_path / "NAS-Bench-201-fixture.pickle"
        path.write_bytes(pickle.dumps({**official_dict, "arch2infos": infos}))
        return import_nb201_official(path)

    @pytest.fixture
    def expected_values(self):
        space = NB201Space()
        arch = lambda i: space.to_string(space.arch(i))  # noqa: E731
        return [
            ("val_acc", arch(5), 1, 12, 70.0 + 5 + 888 % 7),  # last epoch of the 12-epoch run, seed 888
            ("val_acc", arch(6111), 1, 200, 85.0 + 1 + 888 % 7),
            ("test_acc", arch(6111), 0, 200, 80.0 + 777 % 5),
            ("val_acc", arch(1), 0, 200, float("nan")),  # not in the file: NaN, not 0
        ]
