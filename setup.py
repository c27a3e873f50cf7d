"""Ship the repository's notebooks/, templates/ and params/ inside the wheel, as fjaaqa/resources/.

Those folders stay at the top of the repository, where analysts edit them;
a source checkout (editable install) reads them there, an installed wheel
from its own copy (found with importlib.resources, see fjaaqa.paths).
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

FOLDERS = ("notebooks", "templates", "params")


class BuildWithResources(build_py):
    def run(self):
        super().run()
        here = Path(__file__).resolve().parent
        target = Path(self.build_lib) / "fjaaqa" / "resources"
        for name in FOLDERS:
            shutil.rmtree(target / name, ignore_errors=True)
            shutil.copytree(here / name, target / name,
                            ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))


setup(cmdclass={"build_py": BuildWithResources})
