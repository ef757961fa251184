"""Validation of a dataset against DATA_CONTRACT.md: Great Expectations suites per file, checks across files."""

from ratbehavior.validation.limits import ValidationLimits
from ratbehavior.validation.report import Failure, ValidationReport
from ratbehavior.validation.validate import validate_dataset

__all__ = ["Failure", "ValidationLimits", "ValidationReport", "validate_dataset"]
