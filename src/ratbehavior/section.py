"""The base of every configuration section, kept apart so that the model and training sections can
use it without importing the whole tree (which imports them)."""

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    # A typo in a YAML key must fail loudly instead of silently keeping the default.
    model_config = ConfigDict(extra="forbid")
