"""The sandbox (sandbox/lintas_sandbox: generator, stand-ins, demo) depends on `lintas`, never the other way round:
the deployable image carries `lintas` without it."""

import json
import subprocess
import sys

import pytest

from lintas import cli, settings

PACKAGE = settings.project_root() / "include" / "lintas"

# Imports every lintas module while `import lintas_sandbox` fails, as it does in the image; prints what broke.
IMPORT_ALL_WITHOUT_SANDBOX = """
import importlib, json, pkgutil, sys
sys.modules["lintas_sandbox"] = None  # an import of it now raises ImportError
import lintas
names = [m.name for m in pkgutil.walk_packages(lintas.__path__, "lintas.")]
failed = []
for name in names:
    try:
        importlib.import_module(name)
    except Exception as exc:
        failed.append(f"{name}: {exc!r}")
print(json.dumps({"modules": names, "failed": failed}))
"""


def test_the_production_package_never_names_the_sandbox():
    sources = sorted(PACKAGE.rglob("*.py"))
    assert len(sources) > 30 and PACKAGE / "cli.py" in sources
    naming = [str(path.relative_to(PACKAGE)) for path in sources if "lintas_sandbox" in path.read_text("utf-8")]
    assert naming == [], f"lintas modules that import or name the sandbox: {naming}"
    assert not (PACKAGE / "synth").exists() and not (PACKAGE / "standins").exists()


def test_every_lintas_module_imports_without_the_sandbox():
    proc = subprocess.run([sys.executable, "-c", IMPORT_ALL_WITHOUT_SANDBOX], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert len(result["modules"]) > 30 and "lintas.cli" in result["modules"]
    assert result["failed"] == []


@pytest.mark.parametrize("command", cli.SANDBOX_COMMANDS)
def test_without_the_sandbox_its_commands_say_so(command, capsys):
    with pytest.raises(SystemExit, match=f"lintas {command}: the sandbox is not installed"):
        cli.main([command, "--help"], commands=[])
    assert capsys.readouterr().out == ""  # refused before argparse could print a help or usage


def test_the_development_install_registers_the_sandbox_commands(capsys):
    from lintas_sandbox import demo

    assert demo.register in cli.installed_commands()
    for command in cli.SANDBOX_COMMANDS:
        with pytest.raises(SystemExit) as exit_:
            cli.main([command, "--help"])
        assert exit_.value.code == 0
        assert f"usage: lintas {command}" in capsys.readouterr().out
