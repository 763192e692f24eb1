"""A strict, frozen pydantic base for every scenario object.

Unknown keys are errors, and the error suggests the key the user probably meant
(``unknown key 'deamnd' (did you mean 'demand'?)``), which is what a misspelled
scenario file most often needs.
"""

from __future__ import annotations

import difflib
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

__all__ = ["StrictModel"]


class StrictModel(BaseModel):
    """Frozen pydantic model that rejects unknown keys with a suggestion."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=False)

    @model_validator(mode="before")
    @classmethod
    def _reject_unknown_keys(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        allowed = [f.alias or name for name, f in cls.model_fields.items()]
        unknown = [k for k in data if k not in allowed]
        if unknown:
            key = unknown[0]
            close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
            if close:
                hint = f" (did you mean '{close[0]}'?)"
            else:
                hint = f" (allowed: {', '.join(allowed)})"
            raise ValueError(f"unknown key '{key}'{hint}")
        return data
