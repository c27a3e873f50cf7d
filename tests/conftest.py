import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

# Notebooks under fixtures are inputs to tests, not notebooks for nbval to run.
collect_ignore_glob = ["fixtures/*/*.ipynb", "fixtures/*.ipynb"]
