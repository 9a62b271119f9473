"""Reports over a tracking store: run listings and details, leaderboards, comparisons.

Each report is built from the store into a plain :class:`~sweeptrack.reports.formats.Report` that
:mod:`sweeptrack.reports.formats` renders as a rich table, CSV, JSON or Markdown. Nothing here
parses command lines or writes to the database.
"""
