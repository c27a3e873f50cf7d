"""Test session set-up: helpers on the path, and the one end-to-end build started early.

The end-to-end checks (``tests/e2e``) all read one build of the demo, made
the way a new user would get it: the wheel built from this checkout,
installed into a fresh virtual environment in a temporary folder outside
the repository, running ``fjaaqa demo --out ./out`` there. That build takes
a few minutes, so it starts in the background as soon as collection shows an
end-to-end test is selected, and the end-to-end tests run last: the unit
tests use the machine meanwhile.
"""

import os
import shutil
import sys
import tempfile
from pathlib import Path

from hypothesis import settings

sys.path.insert(0, str(Path(__file__).parent))

# Property tests: the same draws on every run under `make test` (a random draw must never fail CI), fresh
# random draws and many more of them under `make fuzz`. HYPOTHESIS_PROFILE picks one; "ci" is the default.
settings.register_profile("ci", derandomize=True, max_examples=40, database=None, print_blob=True)
settings.register_profile("fuzz", derandomize=False, max_examples=1500, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

from e2e.build import E2E  # noqa: E402

# Notebooks under fixtures are inputs to tests, not notebooks for nbval to run.
collect_ignore_glob = ["fixtures/*/*.ipynb", "fixtures/*.ipynb"]


def is_e2e(path: str) -> bool:
    """Whether a test file is an end-to-end one (under ``tests/e2e``), from any working folder."""
    return "e2e" in Path(path).parts


class XdistController:
    """Under ``pytest -n N`` the controller owns the one build: it names the build's folder for every
    worker before they start, and starts the build when the first worker's collection holds an
    end-to-end test. The workers wait for it (:meth:`e2e.build.Build.wait`) and the controller removes it."""

    def __init__(self):
        self.root = None

    def pytest_configure_node(self, node):
        if self.root is None:
            self.root = tempfile.mkdtemp(prefix="fjaaqa-e2e-")
        node.workerinput["fjaaqa_e2e_root"] = self.root

    def pytest_xdist_node_collection_finished(self, node, ids):
        if any(is_e2e(i.split("::")[0]) for i in ids):
            E2E.start(self.root)

    def pytest_sessionfinish(self, session):
        if self.root and E2E.proc is None:  # no end-to-end test selected: the folder is empty
            shutil.rmtree(self.root, ignore_errors=True)


def pytest_configure(config):
    """Under xdist: the controller registers :class:`XdistController`; a worker reads its build."""
    worker = getattr(config, "workerinput", None)
    if worker is not None:
        if worker.get("fjaaqa_e2e_root"):
            E2E.attach(worker["fjaaqa_e2e_root"])
    elif getattr(config.option, "numprocesses", None):
        config.pluginmanager.register(XdistController(), "fjaaqa-e2e-controller")


def pytest_collection_modifyitems(session, config, items):
    """End-to-end tests last; without xdist their build starts now, in the background."""
    e2e = [i for i in items if is_e2e(str(i.fspath))]
    if e2e:
        items[:] = [i for i in items if i not in set(e2e)] + e2e
        if not hasattr(config, "workerinput"):
            E2E.start()


def pytest_sessionfinish(session, exitstatus):
    E2E.cleanup()
