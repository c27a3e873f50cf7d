"""The one end-to-end build of a test session: wheel -> fresh venv outside the repository -> ``fjaaqa demo``.

The wheel is built from a copy of this checkout's source (so the build
writes nothing into the repository) and installed with ``--no-deps`` into a
new virtual environment; its third-party dependencies come from the
project's own environment through a ``.pth`` line, which adds that folder to
``sys.path`` without running the editable install's hook, so ``fjaaqa`` can
only be imported from the wheel (their Jupyter data files, which pip puts
under ``share/jupyter``, are linked the same way). ``HOME`` points into the temporary folder
and ``FJAAQA_CACHE`` is unset, so the user cache folder (platformdirs) is
used and can be checked, and nothing lands in the developer's own.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
SKIP_TOP = {".venv", ".git", "outputs", "data", "tests", "node_modules", "bench", "build", "dist", ".pytest_cache",
            ".hypothesis", ".fjaaqa-cache", ".ruff_cache"}
DEMO_TIMEOUT = 1200  # seconds; the demo takes about four minutes on two cores


class Build:
    """Starts the build once; :meth:`wait` hands the finished build to the tests that read it."""

    def __init__(self):
        self.root: Path | None = None
        self.proc: subprocess.Popen | None = None
        self.seconds = 0.0

    # -------------------------------------------------------------- paths

    @property
    def venv(self) -> Path:
        return self.root / "venv"

    @property
    def work(self) -> Path:
        """The user's folder: the demo runs here, writing ./out and ./data/synthetic."""
        return self.root / "work"

    @property
    def out(self) -> Path:
        return self.work / "out"

    @property
    def data(self) -> Path:
        return self.work / "data" / "synthetic"

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def fjaaqa(self) -> Path:
        return self.venv / "bin" / "fjaaqa"

    def env(self) -> dict:
        env = {k: v for k, v in os.environ.items()
               if k not in ("FJAAQA_CACHE", "XDG_CACHE_HOME", "SOURCE_DATE_EPOCH", "PYTHONPATH", "VIRTUAL_ENV")}
        env.update(HOME=str(self.home), PATH=f"{self.venv / 'bin'}{os.pathsep}{env.get('PATH', '')}")
        return env

    def run(self, *args: str, timeout: int = 600) -> subprocess.CompletedProcess:
        """Run the installed ``fjaaqa`` in the user's folder."""
        return subprocess.run([str(self.fjaaqa), *args], cwd=self.work, env=self.env(), capture_output=True,
                              text=True, timeout=timeout)

    # -------------------------------------------------------------- the build

    def attach(self, root: str | Path) -> None:
        """Read a build another process started (an xdist worker reading its controller's build)."""
        self.root = Path(root)

    def start(self, root: str | Path | None = None) -> None:
        """Start the build in its own process, once: the wheel, the venv, then the demo.

        Its own process, not a thread or a child this one waits on, so that under
        pytest-xdist the controller can start it and any worker can wait for it by
        reading ``result.json``, which the build writes last.
        """
        if self.proc is not None:
            return
        self.root = Path(root) if root else Path(tempfile.mkdtemp(prefix="fjaaqa-e2e-"))
        with open(self.root / "build.err", "w") as err:  # the child holds its own copy of the file
            self.proc = subprocess.Popen([sys.executable, __file__, str(self.root)], stdout=subprocess.DEVNULL,
                                         stderr=err, start_new_session=True)
        (self.root / "build.pid.part").write_text(str(self.proc.pid))
        (self.root / "build.pid.part").rename(self.root / "build.pid")  # a worker never reads half of it

    def main(self) -> None:
        """In the build's own process: install, run the demo, and always write ``result.json``.

        Always: a worker waiting under xdist cannot see this process end, only the file.
        """
        result = {"error": "", "seconds": 0.0}
        try:
            self.build(result)
        except Exception as exc:
            result["error"] = result["error"] or f"the build failed: {exc!r}"
        finally:
            partial = self.root / "result.part"
            partial.write_text(json.dumps(result))
            partial.rename(self.root / "result.json")  # appears whole or not at all

    def build(self, result: dict) -> None:
        try:
            self.install()
            result.update(site=str(self.site), wheel=str(self.wheel))
        except Exception as exc:  # reported by every end-to-end test, not as a collection error
            result["error"] = f"installing the wheel failed: {exc}"
            return
        self.work.mkdir()
        self.home.mkdir()
        started = time.perf_counter()
        with open(self.root / "demo.log", "w") as log:
            try:
                done = subprocess.run([str(self.fjaaqa), "demo", "--out", "./out"], cwd=self.work,
                                      env=self.env(), stdout=log, stderr=subprocess.STDOUT, text=True,
                                      timeout=DEMO_TIMEOUT)
                if done.returncode != 0:
                    tail = (self.root / "demo.log").read_text().splitlines()[-30:]
                    result["error"] = f"fjaaqa demo exited {done.returncode}:\n" + "\n".join(tail)
            except subprocess.TimeoutExpired:
                result["error"] = f"the demo did not finish in {DEMO_TIMEOUT} s"
        result["seconds"] = time.perf_counter() - started

    def install(self) -> None:
        src, dist = self.root / "src", self.root / "dist"

        def ignore(folder, names):
            return [n for n in names if (Path(folder) == REPO and n in SKIP_TOP) or n == "__pycache__"
                    or n.endswith(".egg-info") or (Path(folder) == REPO / "fjaaqa" and n == "resources")]

        shutil.copytree(REPO, src, ignore=ignore)
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                        str(dist), str(src)], check=True, capture_output=True, text=True, cwd=self.root)
        subprocess.run([sys.executable, "-m", "venv", str(self.venv)], check=True, capture_output=True)
        wheel = next(dist.glob("fjaaqa-*.whl"))
        py = self.venv / "bin" / "python"
        subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)], check=True,
                       capture_output=True, text=True)
        site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                              check=True, capture_output=True, text=True).stdout.strip()
        Path(site, "fjaaqa-test-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
        # What installing the dependencies would also have put in the venv: their Jupyter data files
        # (nbconvert's base templates, ipykernel's kernel spec) under share/jupyter.
        (self.venv / "share").mkdir(exist_ok=True)
        (self.venv / "share" / "jupyter").symlink_to(Path(sys.prefix) / "share" / "jupyter")
        self.site = Path(site)
        self.wheel = wheel

    def wait(self) -> Build:
        """The finished build; raises with the demo's last lines when it failed."""
        if self.root is None:
            self.start()
        result_file = self.root / "result.json"
        deadline = time.monotonic() + DEMO_TIMEOUT + 300
        while not result_file.exists():
            if not self.running() and not result_file.exists():
                raise RuntimeError("the build stopped without a result:\n" + (self.root / "build.err").read_text())
            if time.monotonic() > deadline:
                raise RuntimeError(f"the build did not finish in {DEMO_TIMEOUT + 300} s")
            time.sleep(0.5)
        result = json.loads(result_file.read_text())
        if result["error"]:
            raise RuntimeError(result["error"])
        self.seconds = result["seconds"]
        self.site, self.wheel = Path(result["site"]), Path(result["wheel"])
        self.output = (self.root / "demo.log").read_text()
        return self

    def running(self) -> bool:
        """Whether the build process is still at work: this process's child, or (in a worker) the controller's."""
        if self.proc is not None:
            return self.proc.poll() is None
        pid_file = self.root / "build.pid"
        if not pid_file.exists():
            return True  # not started yet: the controller starts it once a worker's collection is in
        try:  # a finished child the controller has not reaped yet is a zombie, not a running build
            return Path(f"/proc/{pid_file.read_text()}/stat").read_text().rsplit(")", 1)[1].split()[0] not in "ZX"
        except OSError:
            return False

    def cleanup(self) -> None:
        """Only the process that started the build stops it and removes its folder."""
        if self.proc is None:
            return
        if self.proc.poll() is None:  # the build and the demo it runs: one process group
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        if not os.environ.get("FJAAQA_KEEP_E2E"):
            shutil.rmtree(self.root, ignore_errors=True)


E2E = Build()


if __name__ == "__main__":
    build = Build()
    build.attach(sys.argv[1])
    build.main()
