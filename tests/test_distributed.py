"""Batch scoring on a Dask cluster (loopback only) gives the local engine's results.

The photos are painted so that every view's hair loss is known by construction (see
``test_engine``), the model is the colour model of ``test_engine``, and the cluster
is a ``LocalCluster`` of two single-threaded worker processes on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import salt
from salt.errors import BadValueError
from salt.io.outputs import JOURNAL_NAME

distributed = pytest.importorskip("distributed")

from test_engine import (  # noqa: E402
    PCT,
    SALT,
    build_folder,
    colour_model,
    good_visit,
    kill_after_journal_lines,
    painted,
    read_tables,
    write,
)

N_VISITS = 11  # build_folder(n_good=6): 6 good visits and 5 with a problem


def local_cluster(**config: Any) -> Any:
    import dask

    with dask.config.set(config):
        return distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=":0",
            silence_logs=50,
        )


@pytest.fixture(scope="module")
def cluster() -> Any:
    with local_cluster() as c:
        yield c


@pytest.fixture
def client(cluster: Any) -> Any:
    with distributed.Client(cluster) as c:
        c.wait_for_workers(2, timeout=60)
        yield c


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_folder(tmp_path_factory.mktemp("dist") / "photos", n_good=6)


@pytest.fixture(scope="module")
def local_out(photos: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist-local") / "out"
    salt.score_folder(photos, out, model=colour_model(), backend="torch", progress=False)
    return out


def assert_same_tables(a: Path, b: Path) -> None:
    for x, y in zip(read_tables(a), read_tables(b), strict=True):
        pd.testing.assert_frame_equal(x, y)


def run_json(out: Path) -> dict[str, Any]:
    return json.loads((out / "run.json").read_text())


class JournalSpy:
    """Count, in this (client) process, how often each visit is written to the journal."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from salt.io.outputs import Journal

        self.written: list[str] = []
        original = Journal.append

        def append(journal: Journal, entries: Any) -> None:
            entries = list(entries)
            self.written += [e["visit_id"] for e in entries]
            original(journal, entries)

        monkeypatch.setattr(Journal, "append", append)


def test_cluster_tables_equal_local_tables(
    client: Any, photos: Path, local_out: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spy = JournalSpy(monkeypatch)
    out = tmp_path / "out"
    df = salt.score_folder(
        photos,
        out,
        model=colour_model(),
        backend="torch",
        progress=False,
        client=client,
        chunk_visits=2,
    )
    # the known truth of the painted photos
    good = df[df["subject"].str.startswith("P")]
    assert len(good) == 6 and set(good["status"]) == {"ok"}
    for view in salt.VIEWS:
        assert (good[f"{view}_pct"] == PCT[view]).all()
    assert good["salt"].tolist() == pytest.approx([SALT] * 6)
    # visit by visit, view by view, error by error: the local run's tables
    assert_same_tables(local_out, out)
    for rel in ("overlays/P00/w0/sheet.jpg", "overlays/Q_missing/w0/top.jpg"):
        assert (out / rel).read_bytes() == (local_out / rel).read_bytes()
    bad = pd.read_csv(out / "errors.csv", keep_default_na=False)
    assert "top.png" in bad.loc[bad["subject"] == "Q_bad", "file"].iloc[0]
    # each visit written once; the work was spread over both workers
    assert sorted(spy.written) == sorted(f"{s}/w0" for s in df["subject"])
    info = run_json(out)
    cluster = info["cluster"]
    assert cluster["tasks"] == 6  # ceil(11 / 2)
    assert sum(cluster["visits_by_worker"].values()) == N_VISITS
    assert set(cluster["visits_by_worker"]) <= set(cluster["workers"])
    assert info["arguments"]["scheduler"] == client.scheduler.address
    assert info["counts"]["photos_scored"] == len(pd.read_csv(out / "views.csv"))


def test_resume_after_local_run_and_after_a_changed_photo(client: Any, tmp_path: Path) -> None:
    root = build_folder(tmp_path / "photos", n_good=6)
    out = tmp_path / "out"
    model = colour_model()
    salt.score_folder(root, out, model=model, backend="torch", progress=False)
    before = read_tables(out)
    salt.score_folder(root, out, model=model, backend="torch", progress=False, client=client)
    counts = run_json(out)["counts"]
    assert counts["reused"] == N_VISITS - 1  # Q_bad (unreadable photo) has no key: re-tried
    for x, y in zip(before, read_tables(out), strict=True):
        pd.testing.assert_frame_equal(x, y)
    # a new photo for one view: only that visit is scored again, with its new value
    write(root / "P03" / "w0" / "top.png", painted(48))
    df = salt.score_folder(root, out, model=model, backend="torch", progress=False, client=client)
    counts = run_json(out)["counts"]
    assert counts["reused"] == N_VISITS - 2
    row = df.set_index("subject").loc["P03"]
    assert row["top_pct"] == 75.0
    assert row["salt"] == pytest.approx(SALT + 0.40 * (75.0 - PCT["top"]))


def test_client_killed_mid_run_then_resumed(
    client: Any, photos: Path, local_out: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    script = f"""
import sys, time
sys.path.insert(0, {str(Path(__file__).parent)!r})
import distributed
from test_engine import colour_model
from salt.inference.engine import score_folder
with distributed.Client({client.scheduler.address!r}) as c:
    score_folder({str(photos)!r}, {str(out)!r}, model=colour_model(), backend="torch",
                 progress=False, client=c, chunk_visits=1)
"""
    done = kill_after_journal_lines(script, out / JOURNAL_NAME, 2)
    assert 2 <= done < N_VISITS
    salt.score_folder(
        photos, out, model=colour_model(), backend="torch", progress=False, client=client
    )
    assert_same_tables(local_out, out)
    assert run_json(out)["counts"]["reused"] >= done - 1


def test_worker_killed_mid_run_loses_no_visit(
    client: Any, photos: Path, local_out: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "killed-once"

    def install() -> None:  # runs in each worker process: die when P03's photos load
        import salt.io.photo

        original = salt.io.photo.load_photo

        def load_photo(path: Any, **kwargs: Any) -> Any:
            if "P03" in str(path):
                try:
                    os.close(os.open(marker, os.O_CREAT | os.O_EXCL))
                except FileExistsError:
                    pass
                else:
                    os.kill(os.getpid(), signal.SIGKILL)
            return original(path, **kwargs)

        salt.io.photo.load_photo = load_photo

    pids_before = set(client.run(os.getpid).values())
    client.run(install)
    spy = JournalSpy(monkeypatch)
    out = tmp_path / "out"
    salt.score_folder(
        photos,
        out,
        model=colour_model(),
        backend="torch",
        progress=False,
        client=client,
        chunk_visits=1,
    )
    assert marker.exists()  # a worker did die mid-run
    client.wait_for_workers(2, timeout=60)
    assert set(client.run(os.getpid).values()) != pids_before  # the nanny started a new one
    assert_same_tables(local_out, out)
    assert sorted(spy.written) == sorted(
        f"{s}/w0" for s in pd.read_csv(out / "visits.csv")["subject"]
    )
    client.restart()  # drop the patched load_photo of the surviving worker


def test_a_visit_that_always_kills_its_worker_is_recorded_and_the_run_goes_on(
    tmp_path: Path,
) -> None:
    root = tmp_path / "photos"
    for subject in ("A", "B", "POISON", "C"):
        good_visit(root / subject / "w0")

    class KillOnPoison(distributed.WorkerPlugin):  # set up on restarted workers too
        def setup(self, worker: Any) -> None:
            import salt.io.photo

            original = salt.io.photo.load_photo

            def load_photo(path: Any, **kwargs: Any) -> Any:
                if "POISON" in str(path):
                    os.kill(os.getpid(), signal.SIGKILL)
                return original(path, **kwargs)

            salt.io.photo.load_photo = load_photo

    with (
        local_cluster(**{"distributed.scheduler.allowed-failures": 0}) as cluster,
        distributed.Client(cluster) as client,
    ):
        client.register_plugin(KillOnPoison())
        df = salt.score_folder(
            root,
            tmp_path / "out",
            model=colour_model(),
            backend="torch",
            progress=False,
            client=client,
            chunk_visits=2,
        )
    status = dict(zip(df["subject"], df["status"], strict=True))
    assert status == {"A": "ok", "B": "ok", "C": "ok", "POISON": "failed"}
    assert df.loc[df["status"] == "ok", "salt"].tolist() == pytest.approx([SALT] * 3)
    errors = pd.read_csv(tmp_path / "out" / "errors.csv", keep_default_na=False)
    assert errors[["subject", "error_type"]].values.tolist() == [["POISON", "WorkerDied"]]
    cluster_info = run_json(tmp_path / "out")["cluster"]
    assert cluster_info["tasks_split_after_worker_deaths"] >= 1
    assert cluster_info["visits_failed_worker_died"] == 1


def test_memory_urls_are_refused_for_a_cluster(client: Any) -> None:
    import fsspec

    fs = fsspec.filesystem("memory")
    import cv2

    for view in salt.VIEWS:
        _, buf = cv2.imencode(".png", painted(8))
        fs.pipe(f"/dist-test/S/w0/{view}.png", bytes(buf))
    try:
        with pytest.raises(BadValueError, match="memory://"):
            salt.score_folder(
                "memory://dist-test", None, model=colour_model(), backend="torch", client=client
            )
    finally:
        fs.rm("/dist-test", recursive=True)


def test_command_line_scheduler_option(client: Any, photos: Path, tmp_path: Path) -> None:
    """``salt score --scheduler`` with the shipped model gives the local run's tables."""
    local = tmp_path / "local"
    salt.score_folder(photos, local, model="default", backend="torch", device="cpu", progress=False)
    out = tmp_path / "out"
    cli = "from salt.cli import main; raise SystemExit(main())"
    args = ["score", str(photos), "-o", str(out), "--backend", "torch", "-q", "--chunk-visits", "3"]
    proc = subprocess.run(
        [sys.executable, "-c", cli, *args, "--scheduler", str(client.scheduler.address)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 1, proc.stderr  # exit 1: some visits have problems
    assert_same_tables(local, out)
    info = run_json(out)
    assert info["arguments"]["scheduler"] == client.scheduler.address
    assert info["cluster"]["tasks"] == 4  # ceil(11 / 3)


def test_unreachable_scheduler_is_a_clear_error(
    photos: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    import salt.commands.score as score_command
    from salt.cli import main

    monkeypatch.setattr(score_command, "CONNECT_TIMEOUT_S", 1)
    code = main(
        ["score", str(photos), "-o", str(tmp_path / "out"), "--scheduler", "tcp://127.0.0.1:9"]
    )
    assert code == 2
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in capsys.readouterr().err
    assert not (tmp_path / "out" / "visits.csv").exists()


def test_scheduler_option_without_dask_names_the_extra(
    photos: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    from salt.cli import main

    monkeypatch.setitem(sys.modules, "distributed", None)  # import fails as if not installed
    code = main(["score", str(photos), "-o", str(tmp_path / "out"), "--scheduler", "tcp://x:8786"])
    assert code == 2
    assert "pip install 'salt[distributed]'" in capsys.readouterr().err


def test_each_worker_builds_the_model_once(client: Any, photos: Path) -> None:
    def built() -> list[int]:  # identities of the backends this worker process built
        import salt.inference.cluster

        return sorted(id(be) for _, be, _, _ in salt.inference.cluster._CACHE.values())

    client.restart()
    kwargs = {"model": colour_model(), "backend": "torch", "progress": False, "client": client}
    salt.score_folder(photos, None, chunk_visits=1, **kwargs)  # 11 tasks
    first = client.run(built)
    assert all(len(ids) <= 1 for ids in first.values()) and any(first.values())
    salt.score_folder(photos, None, chunk_visits=1, **kwargs)  # 11 more: nothing rebuilt
    second = client.run(built)
    assert all(second[w] == ids for w, ids in first.items() if ids)


def test_a_model_that_differs_from_the_clients_is_refused() -> None:
    from salt.errors import ModelError
    from salt.inference.cluster import _RECEIVED, _runtime
    from salt.model import weights_sha256

    model = colour_model()
    claimed = weights_sha256(model.network)
    with torch_no_grad():
        model.network.bias[0] += 1.0  # the weights changed on the way
    _RECEIVED[claimed] = model
    try:
        with pytest.raises(ModelError, match="weights SHA256"):
            _runtime(claimed, "torch", "cpu")
    finally:
        del _RECEIVED[claimed]


def torch_no_grad() -> Any:
    import torch

    return torch.no_grad()


def test_cuda_is_checked_on_the_workers_not_on_the_client(client: Any, photos: Path) -> None:
    """A CPU-only client may drive GPU workers; CPU-only workers refuse CUDA, naming themselves."""
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU: the workers would accept CUDA")
    from salt.errors import ModelError

    with pytest.raises(ModelError, match=r"worker tcp://127\.0\.0\.1:\d+ .*CUDA"):
        salt.score_folder(
            photos, None, model=colour_model(), device="cuda", progress=False, client=client
        )
    with pytest.raises(BadValueError, match="CPU only"):
        salt.score_folder(
            photos, None, model=colour_model(), backend="onnxruntime", device="cuda", client=client
        )
