"""Folder put first on a program trial's import path; see :func:`sweeptrack.compat.shim_dir`."""
