"""fjaaqa: quality-assurance analysis for Flexi-Job Apprenticeship Agencies."""

__version__ = "0.1.0"
