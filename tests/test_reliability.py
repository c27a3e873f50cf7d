"""Reliability: one output failing (an error, a dead kernel, a timeout) never stops a batch; a re-run redoes only it."""

from __future__ import annotations

from pathlib import Path

from builders import repo_path

from fjaaqa.render import builds
from fjaaqa.render.engine import RenderJob, run_jobs

NOTEBOOK = repo_path("tests", "fixtures", "notebooks", "failing.ipynb")


def jobs(root: Path, ids: list[str]) -> list[RenderJob]:
    return [RenderJob(NOTEBOOK, {"agency_id": a}, root / "out" / f"{a}.html", {"agency_id": a, "audience": "agency"},
                      title=f"Pack for {a}", run_date="2024-07-31",
                      key=builds.render_key(NOTEBOOK, {"agency_id": a}, "test"))
            for a in ids]


def test_failures_are_isolated_reported_and_only_they_are_rebuilt(tmp_path):
    batch = jobs(tmp_path, ["A", "CRASH", "B", "ERROR", "SLOW", "C"])
    first = run_jobs(batch, pdf=False, workers=1, timeout=5)
    assert {r["agency_id"] for r in first.built} == {"A", "B", "C"}
    failed = {r["agency_id"]: r["error"] for r in first.failed}
    assert set(failed) == {"CRASH", "ERROR", "SLOW"}
    assert "bad data for this agency" in failed["ERROR"]
    assert "kernel died" in failed["CRASH"]
    assert "took longer than 5 s" in failed["SLOW"]
    for a in ("A", "B", "C"):  # built after a crash and a timeout: the kernel was restarted
        assert f"Pack for {a}" in (tmp_path / "out" / f"{a}.html").read_text()
    for a in failed:  # nothing half-made is left for a failed output
        assert not (tmp_path / "out" / f"{a}.html").exists()
        assert not builds.sidecar(tmp_path / "out" / f"{a}.html").exists()
    again = run_jobs(batch, pdf=False, workers=1, timeout=5)
    assert {r["agency_id"] for r in again.unchanged} == {"A", "B", "C"}
    assert {r["agency_id"] for r in again.failed} == {"CRASH", "ERROR", "SLOW"} and not again.built


def _builders(root: Path, ids: list[str]) -> dict[str, str]:
    """Which process built each output (the fixture notebook prints its kernel's parent)."""
    import re

    return {a: re.search(r"Built by process (\d+)", (root / "out" / f"{a}.html").read_text()).group(1) for a in ids}


def test_a_long_batch_is_built_by_fresh_processes_each_few_outputs(tmp_path):
    """A worker process is replaced after ``recycle_after`` outputs, so memory a library keeps cannot pile up.

    WeasyPrint keeps ~0.4 MB per DfE pack PDF; over 2,000 outputs in one process
    that is most of a gigabyte. Five outputs, two workers, a new process every two.
    """
    import os

    ids = ["A", "B", "C", "D", "E"]
    result = run_jobs(jobs(tmp_path, ids), pdf=False, workers=2, timeout=60, recycle_after=2)
    assert {r["agency_id"] for r in result.built} == set(ids) and not result.failed
    by = _builders(tmp_path, ids)
    per_process = {pid: sum(1 for p in by.values() if p == pid) for pid in set(by.values())}
    assert max(per_process.values()) <= 2 and len(per_process) == 3, per_process
    assert str(os.getpid()) not in per_process
    ids = ["F", "G", "H"]  # one worker, more outputs than one process may build: two processes, not this one
    run_jobs(jobs(tmp_path, ids), pdf=False, workers=1, timeout=60, recycle_after=2)
    by = _builders(tmp_path, ids)
    assert len(set(by.values())) == 2 and str(os.getpid()) not in by.values(), by


def test_a_run_killed_mid_batch_leaves_only_finished_outputs_and_a_rerun_completes_it(tmp_path):
    import json
    import os
    import signal
    import subprocess
    import sys
    import time

    data = repo_path("tests", "fixtures", "pack_data")
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "fjaaqa.cli", "packs", "--data", str(data), "--year", "2324", "--return", "R14",
           "--audience", "agency", "--out", str(out), "--workers", "1"]
    env = dict(os.environ, FJAAQA_CACHE=str(tmp_path / "cache"))
    proc = subprocess.Popen(cmd, env=env, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    folder = out / "2324" / "R14" / "packs" / "agency"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not list(folder.glob(".*.build.json")) and proc.poll() is None:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the command and its kernel, mid-batch
    proc.wait()
    assert not (out / "manifest.json").exists()  # nothing vouches for an unfinished run
    pages = sorted(folder.glob("*.html"))
    assert len(pages) < 5, "the run finished before it could be killed"
    for page in pages:  # every file present is whole (written atomically, the PDF before the page)
        assert page.read_text().rstrip().endswith("</html>")
        assert page.with_suffix(".pdf").read_bytes().rstrip().endswith(b"%%EOF")
    records = sorted(folder.glob(".*.build.json"))
    assert records
    for car in records:  # a record vouches only for files that are there and match it
        page = folder / (car.name[1:-len(".build.json")] + ".html")
        assert builds.up_to_date(page, json.loads(car.read_text())["key"], pdf=True)
    # the re-run builds what is missing, keeps what was finished, and sweeps temporary files
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert f"{len(records)} unchanged" in " ".join(done.stderr.split())
    assert len(list(folder.glob("*.html"))) == 5 and not list(folder.rglob(".*.tmp"))
    manifest = json.loads((out / "manifest.json").read_text())
    listed = {o["path"] for o in manifest["outputs"]}
    assert {f"2324/R14/packs/agency/{p.name}" for p in folder.iterdir() if not p.name.startswith(".")} <= listed


def test_workers_stop_when_the_command_is_killed(tmp_path):
    """Killing only the command (not its process group) must not leave workers building on, orphaned.

    They would go on writing outputs for nobody, beside a re-run. The load
    benchmark found two such workers still rendering half an hour later.
    """
    import os
    import signal
    import subprocess
    import sys
    import time

    import psutil

    data = repo_path("tests", "fixtures", "pack_data")
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "fjaaqa.cli", "packs", "--data", str(data), "--year", "2324", "--return", "R14",
           "--audience", "agency", "--audience", "dfe", "--out", str(out), "--workers", "2", "--no-pdf"]
    env = dict(os.environ, FJAAQA_CACHE=str(tmp_path / "cache"))
    proc = subprocess.Popen(cmd, env=env, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not list(out.rglob(".*.build.json")) and proc.poll() is None:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)  # the command alone: its workers and kernels are orphaned
    proc.wait()

    def left() -> list:
        return [p for p in psutil.process_iter(["pid"]) if _group(p) == proc.pid]

    deadline = time.monotonic() + 90
    while left() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not left(), [" ".join(p.cmdline())[:120] for p in left()]
    assert len(list(out.rglob("*.html"))) < 10, "the batch ran to its end"


def _group(p) -> int | None:
    import os

    try:
        return os.getpgid(p.pid)
    except (ProcessLookupError, PermissionError):
        return None


HOSTILE = '<script>alert("x")</script> {{ 7*7 }} {% raw %} =HYPERLINK("http://evil") @SUM(1) ' + "A" * 10_000


def test_hostile_text_is_inert_and_unsafe_ids_never_become_paths(tmp_path, monkeypatch):
    import shutil

    import pandas as pd

    from fjaaqa.reports.pack import build_packs

    monkeypatch.setenv("FJAAQA_CACHE", str(tmp_path / "cache"))
    data = tmp_path / "data"
    shutil.copytree(repo_path("tests", "fixtures", "pack_data"), data)
    reg = pd.read_csv(data / "register.csv", dtype=str, keep_default_na=False)
    reg.loc[reg["agency_id"] == "FJAA0002", "agency_name"] = HOSTILE
    bad = reg[reg["agency_id"] == "FJAA0003"].assign(agency_id="../../escaped")
    nul = reg[reg["agency_id"] == "FJAA0003"].assign(agency_id="/abs/path")
    pd.concat([reg, bad, nul]).to_csv(data / "register.csv", index=False)
    out = tmp_path / "out"
    summary = build_packs(data, "2324", "R14", ["FJAA0002"], ["dfe", "agency"], "quality-framework-2023", out,
                          pdf=True, workers=1)
    assert not summary.failed, summary.failed
    for page in [*out.rglob("*.html")]:
        text = page.read_text()
        assert "<script>alert" not in text
    pack = (out / "2324/R14/packs/dfe/FJAA0002.html").read_text()
    assert "&lt;script&gt;alert(" in pack and "&lt;/script&gt; {{ 7*7 }} {% raw %} =HYPERLINK(" in pack
    assert "A" * 10_000 in pack
    assert (out / "2324/R14/packs/dfe/FJAA0002.pdf").read_bytes()[:5] == b"%PDF-"
    # the unsafe ids were quarantined with a reason, and nothing was written outside the output folder
    from fjaaqa.inputs.sources import load_dataset

    rejected = load_dataset(data).rejected
    hits = rejected[rejected["field"] == "agency_id"]
    assert {"../../escaped", "/abs/path"} <= set(hits["value"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "data", "out"]
    assert not (tmp_path / "escaped").exists() and not Path("/abs/path").exists()


def test_csv_cells_that_look_like_formulas_are_made_inert():
    import pandas as pd

    from fjaaqa.writers import csv_text

    df = pd.DataFrame({"text": ['=HYPERLINK("http://evil")', "+cmd", "-x", "@SUM(A1)", "plain", "-5", "+3.5", None],
                       "n": [1, 2, 3, 4, 5, 6, 7, 8]})
    lines = csv_text(df).splitlines()[1:]
    assert [line.rsplit(",", 1)[0] for line in lines] == [
        '"\'=HYPERLINK(""http://evil"")"', "'+cmd", "'-x", "'@SUM(A1)", "plain", "-5", "+3.5", ""]


def test_a_warm_kernel_holds_no_more_resources_after_many_outputs():
    """Load: a worker renders hundreds of outputs with one kernel, so each run must give back what it opened.

    The memory growth the load benchmark found came with open sockets and
    threads (a ZeroMQ context per run); counting those is exact where
    memory is noisy. An error run in the middle restarts the kernel.
    """
    import psutil

    from fjaaqa.render.engine import Runner

    me = psutil.Process()
    runner = Runner()
    try:
        held = []
        for i in range(12):
            try:
                runner.run({"agency_id": "ERROR" if i == 6 else f"A{i}"}, NOTEBOOK, timeout=60)
            except Exception:  # the failed output, as run_jobs would: restart and go on
                runner.restart()
            if i in (2, 11):
                held.append((me.num_fds(), me.num_threads()))
    finally:
        runner.close()
    (fds3, threads3), (fds12, threads12) = held
    assert fds12 <= fds3 + 2 and threads12 <= threads3 + 1, held


def test_printing_many_pdfs_in_one_process_keeps_memory_flat(tmp_path):
    """Load: one worker prints thousands of PDFs, so printing one more must not keep memory.

    With a new WeasyPrint font configuration per document, 30 small PDFs
    kept about 7 MB (0.25 MB each); shared, well under 1 MB.
    """
    import gc

    import psutil

    from fjaaqa.render.export import css, write_pdf

    rows = "".join(f"<tr><td>Provider {i}</td><td>{i * 3.5:.1f}%</td><td>£{i * 1234:,}</td></tr>" for i in range(20))
    page = (f'<!DOCTYPE html><html lang="en-GB"><head><title>Memory check</title><style>{css()}</style></head>'
            f'<body><main id="main" class="page"><h1>A report</h1><p>Text <b>bold</b> <i>italic</i></p>'
            f'<table>{rows}</table></main></body></html>')
    me = psutil.Process()
    for i in range(40):
        write_pdf(page, tmp_path / "m.pdf", "2024-01-01")
        if i == 9:  # after warming up: fonts loaded, caches filled
            gc.collect()
            before = me.memory_info().rss
    gc.collect()
    grown_mb = (me.memory_info().rss - before) / 2**20
    assert grown_mb < 3, f"{grown_mb:.1f} MB kept by 30 PDFs"


def test_a_warm_kernel_gives_each_notebook_a_clean_namespace(tmp_path):
    """One output must never see another's variables, cell results or private names, kernel reused or restarted."""
    import nbformat

    from fjaaqa.render.engine import Runner

    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "language": "python",
                                                            "display_name": "Python 3"}})
    params = nbformat.v4.new_code_cell('agency_id = "A"')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params,
                nbformat.v4.new_code_cell('assert "leftover" not in globals() and "_private" not in globals()\n'
                                          'assert not Out and globals().get("_") != 42, (Out, globals().get("_"))'),
                nbformat.v4.new_code_cell("leftover = _private = agency_id\n42")]
    path = tmp_path / "clean.ipynb"
    nbformat.write(nb, path)
    runner = Runner()
    try:
        for i in range(3):
            runner.run({"agency_id": f"A{i}"}, path, timeout=60)
        runner.restart()
        runner.run({"agency_id": "B"}, path, timeout=60)
        runner.run({"agency_id": "C"}, path, timeout=60)
    finally:
        runner.close()
