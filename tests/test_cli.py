import subprocess
import sys
from pathlib import Path

import pytest

from salt import cli

EXAMPLE = Path(__file__).resolve().parents[1] / "data" / "example_visits.csv"
COMMANDS = [m.rsplit(".", 1)[-1].replace("_", "-") for m in cli.COMMAND_MODULES]


def test_top_level_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for name in COMMANDS:
        assert name in out


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_has_help(name, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main([name, "--help"])
    assert info.value.code == 0
    assert f"salt {name}" in capsys.readouterr().out


def test_endpoints_command_does_not_import_torch(tmp_path):
    code = (
        "import sys, salt.cli; "
        "rc = salt.cli.main(['endpoints', sys.argv[2], '-o', sys.argv[1]]); "
        "assert rc == 0, rc; "
        "assert 'torch' not in sys.modules, 'torch imported'"
    )
    res = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "e.csv"), str(EXAMPLE)],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "e.csv").stat().st_size > 0


def test_unknown_command_exits_2(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["frobnicate"])
    assert info.value.code == 2
