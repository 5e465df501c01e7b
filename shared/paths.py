"""Where the course's runs write: folders of the repository itself, wherever a lesson runs from.

A notebook's kernel starts in the notebook's folder (``lessons/``), a script in the caller's; both write to the
repository's ``artifacts/``, where ``./course predict`` and ``./course demo`` look for the saved models.
``COURSE_ROOT``, the variable through which ``./course predict`` names the repository, moves it elsewhere: a
run that must leave the repository's artifacts alone (a test's) points it at a temporary folder.
"""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the repository: shared/ is its package
ARTIFACTS = Path(os.environ.get("COURSE_ROOT") or ROOT) / "artifacts"
