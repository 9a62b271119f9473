"""`sweeptrack --help` stays fast: the command modules import no database, rich or parser code."""

from __future__ import annotations

import json
import subprocess
import sys


def test_importing_the_cli_loads_nothing_heavy() -> None:
    code = (
        "import json, sys, sweeptrack.cli.main; "
        "print(json.dumps(sorted(m for m in ('sqlalchemy', 'rich', 'lark', 'alembic', 'psycopg') "
        "if m in sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert json.loads(done.stdout) == []


def test_subcommand_help_loads_nothing_heavy() -> None:
    code = (
        "import json, sys\n"
        "from sweeptrack.cli.main import cli\n"
        "for args in (['--help'], ['runs', 'list', '--help'], ['leaderboard', '--help']):\n"
        "    try:\n"
        "        cli.main(args=args, prog_name='sweeptrack', standalone_mode=False)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "print(json.dumps(sorted(m for m in ('sqlalchemy', 'rich', 'lark') if m in sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert json.loads(done.stdout.splitlines()[-1]) == []
    assert "--metric" in done.stdout
