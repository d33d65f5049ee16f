"""The Python bindings: numpy round trips, metrics against scipy, scores against the CLI, errors,
and a tiny training run. Run by CTest (python.pytest) with PYTHONPATH=<build>/python."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import scipy.stats

import tgraph

CLI = os.environ["TGRAPH_CLI"]
SHARED = os.environ["TGRAPH_SHARED_DIR"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("syn")
    subprocess.run([CLI, "synth", "--out", str(d), "--preset", "tiny", "--seed", "6"], check=True,
                   capture_output=True)
    return str(d / "npz")


@pytest.fixture(scope="module")
def layout_run(data, tmp_path_factory):
    out = str(tmp_path_factory.mktemp("run") / "layout")
    events = []
    result = tgraph.train(data=data, collection="layout:xla:random", model="tgraph-cpu", hidden=8,
                          steps=6, eval_every_steps=3, threads=1, seed=2, out=out,
                          callback=events.append)
    return out, result, events


def first_file(data, sub):
    d = os.path.join(data, sub)
    return os.path.join(d, sorted(os.listdir(d))[0])


def test_layout_arrays_round_trip_with_exact_dtypes(tmp_path):
    rng = np.random.default_rng(1)
    N, NC, C = 9, 2, 4
    arrays = dict(
        node_feat=rng.normal(size=(N, 140)).astype(np.float32),
        node_opcode=rng.integers(0, 121, N).astype(np.uint8),
        edge_index=np.array([[u, u - 1] for u in range(1, N)], dtype=np.int64),
        node_config_feat=rng.integers(-1, 6, (C, NC, 18)).astype(np.float32),
        node_config_ids=np.array([2, 5], dtype=np.int64),
        config_runtime=rng.integers(1000, 2000, C).astype(np.int64),
        node_splits=np.array([[0, 4, N]], dtype=np.int64),
    )
    p = str(tmp_path / "g.npz")
    np.savez_compressed(p, **arrays)
    g = tgraph.load_layout(p)
    assert (g.num_nodes, g.num_config_nodes, g.num_configs, g.labelled) == (N, NC, C, True)
    for k, v in arrays.items():
        got = getattr(g, k)
        assert got.dtype == v.dtype, k
        assert got.shape == v.shape, k
        np.testing.assert_array_equal(got, v, err_msg=k)


def test_tile_arrays_round_trip(data):
    f = first_file(data, "tile/xla/train")
    t = tgraph.load_tile(f)
    with np.load(f) as z:
        for k in ("node_feat", "node_opcode", "edge_index", "config_feat", "config_runtime",
                  "config_runtime_normalizers"):
            assert getattr(t, k).dtype == z[k].dtype, k
            np.testing.assert_array_equal(getattr(t, k), z[k], err_msg=k)


def test_featurize_real_layout_record():
    g = tgraph.featurize(os.path.join(SHARED, "data/real/module_tuning_data_layout.pb"))
    assert isinstance(g, tgraph.LayoutGraph)
    assert (g.num_nodes, g.num_config_nodes, g.num_configs) == (3163, 62, 112)
    assert g.node_feat.shape == (3163, 140)


@pytest.mark.parametrize("ties", [False, True])
def test_kendall_tau_matches_scipy(ties):
    rng = np.random.default_rng(3 + ties)
    for _ in range(20):
        n = int(rng.integers(2, 60))
        x = rng.integers(0, 5, n) if ties else rng.normal(size=n)
        y = rng.integers(0, 5, n) if ties else rng.normal(size=n)
        ref = scipy.stats.kendalltau(x, y).statistic
        got = tgraph.metrics.kendall_tau(x, y)
        if np.isnan(ref):
            assert np.isnan(got)
        else:
            assert got == pytest.approx(ref, abs=1e-12)


def test_opa_and_tile_metrics():
    assert tgraph.metrics.opa([1, 2, 3], [10, 20, 30]) == 1.0
    assert tgraph.metrics.opa([3, 2, 1], [10, 20, 30]) == 0.0
    rt = [5.0, 4.0, 2.0, 8.0, 9.0, 3.0]
    assert tgraph.metrics.tile_topk_error(rt, [0, 1, 2], 1) == pytest.approx(1.5)
    assert tgraph.metrics.tile_score(rt, [1, 2, 0, 3, 4]) == pytest.approx(1.0)


def test_training_from_python_reports_progress(layout_run):
    out, result, events = layout_run
    assert result["steps"] == 6 and result["metric"] == "tau"
    assert os.path.exists(os.path.join(out, "best.tgm"))
    assert [e["step"] for e in events] == [3, 6]
    assert "mean_tau" in events[0]["valid"]


def test_scores_equal_cli_rank_json_bit_for_bit(data, layout_run):
    out, _, _ = layout_run
    model = os.path.join(out, "best.tgm")
    g = first_file(data, "layout/xla/random/valid")
    # Bit for bit needs the same GEMM kernels: the CLI forces an OpenBLAS core where OpenBLAS
    # falls back to generic ones, which this process cannot, so give the CLI this process's core.
    env = dict(os.environ)
    if tgraph.blas_core():
        env["OPENBLAS_CORETYPE"] = tgraph.blas_core()
    cli = json.loads(subprocess.run([CLI, "rank", model, g, "--json", "--threads", "1"], env=env,
                                    check=True, capture_output=True, text=True).stdout)
    m = tgraph.CostModel.load(model, threads=1)
    assert m.task == tgraph.Kind.LAYOUT and m.trained_on == "layout:xla:random"
    own = m.score_own(m.prepare(g))
    assert own.dtype == np.float64
    assert own.tolist() == cli["scores"]
    # The same configurations as in-memory candidates, and with the ensemble spread.
    lg = tgraph.load_layout(g)
    h = m.prepare(lg)
    s, spread = m.score(h, lg.node_config_feat, return_spread=True)
    np.testing.assert_allclose(s, own, atol=1e-5)
    assert not spread.any()


def test_update_and_save(data, layout_run, tmp_path):
    out, _, _ = layout_run
    m = tgraph.CostModel.load(os.path.join(out, "best.tgm"), threads=1)
    lg = tgraph.load_layout(first_file(data, "layout/xla/random/valid"))
    h = m.prepare(lg)
    loss = m.update(h, lg.node_config_feat[:16], lg.config_runtime[:16], steps=2)
    assert np.isfinite(loss) and m.updates == 2
    m.save(str(tmp_path / "tuned.tgm"))
    assert tgraph.CostModel.load(str(tmp_path / "tuned.tgm")).updates == 2


def test_errors_are_tgraph_errors_naming_the_file(tmp_path, data, layout_run):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(tgraph.Error) as e:
        tgraph.load_layout(str(bad))
    assert str(bad) in str(e.value)
    assert isinstance(e.value, ValueError)
    out, _, _ = layout_run
    m = tgraph.CostModel.load(os.path.join(out, "best.tgm"), threads=1)
    lg = tgraph.load_layout(first_file(data, "layout/xla/random/valid"))
    h = m.prepare(lg)
    c = lg.node_config_feat[:2].copy()
    c[1, 0, 3] = 7
    with pytest.raises(tgraph.Error, match=r"integral layout values in \[-1, 5\]"):
        m.score(h, c)
    with pytest.raises(tgraph.Error, match="candidates"):
        m.score(h, np.zeros((2, 5), np.float32))
    with pytest.raises(tgraph.Error, match="an option of `tgraph train`"):
        tgraph.train(data=data, out=str(tmp_path / "x"), bogus=1)


def test_weight_average_option_and_the_library_ranges(data, tmp_path):
    out = str(tmp_path / "averaged")
    args = dict(data=data, collection="layout:xla:random", model="tgraph-cpu", hidden=8, steps=4,
                eval_every_steps=4, threads=1, seed=2, progress=False)
    tgraph.train(out=out, ema=0.9, **args)
    info = json.loads(subprocess.run([CLI, "info", os.path.join(out, "last.tgm")], check=True,
                                     capture_output=True, text=True).stdout)
    assert info["training"]["ema"] == 0.9
    # The library's ranges hold here as in the CLI: a decay of 1 or more never forgets, a
    # warm-up share above 1 never ends, a negative learning rate climbs the loss.
    for key, flag, bad in [("ema", "--ema", 1.5), ("warmup", "--warmup", 3.0),
                           ("lr", "--lr", -1.0), ("slate", "--slate", -4)]:
        with pytest.raises(tgraph.Error, match=flag + ": expected a (finite )?value"):
            tgraph.train(out=str(tmp_path / key), **{key: bad}, **args)
        assert not os.path.exists(tmp_path / key)


def _import_report(env):
    code = ("import json, warnings\n"
            "with warnings.catch_warnings(record=True) as w:\n"
            "    warnings.simplefilter('always')\n"
            "    import tgraph\n"
            "print(json.dumps({'core': tgraph.blas_core(), 'advice': tgraph.blas_core_advice(),\n"
            "                  'warned': any('OPENBLAS_CORETYPE' in str(x.message) for x in w)}))\n")
    r = subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True,
                       text=True)
    return json.loads(r.stdout)


def test_import_warns_where_openblas_runs_generic_kernels():
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}
    own = _import_report(env)
    if not own["core"]:
        pytest.skip("the BLAS in use is not OpenBLAS")
    # The warning comes exactly where the library advises a core; a forced core silences it.
    assert own["warned"] == bool(own["advice"])
    forced = _import_report(dict(env, OPENBLAS_CORETYPE="Prescott"))
    assert forced == {"core": "Prescott", "advice": "", "warned": False}
