"""Reports of a trained run: PNG figures and a self-contained report.html; previews of exported parts."""
from .build import ReportResult, write_report
from .run import find_run
from .show import show_file

__all__ = ["ReportResult", "find_run", "show_file", "write_report"]
