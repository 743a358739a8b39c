"""xxgk: read 政府信息公开工作年度报告 into checked, traceable records."""

__version__ = "0.2.0"
