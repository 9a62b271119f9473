"""The ``sweeptrack`` command line: parse, build, delegate to reports and the store."""
