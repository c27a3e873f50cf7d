"""The one strict pydantic base every parameter file and notebook parameter model uses.

Strict means an unknown key is an error, not silently ignored (a typo in a
threshold file must not fall back to a default), and a loaded model is
frozen, so nothing changes a parameter after it has been hashed.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    """A pydantic model that forbids unknown fields and cannot be changed once made."""

    model_config = ConfigDict(extra="forbid", frozen=True)
