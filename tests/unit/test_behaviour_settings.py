"""How the behaviour checks after generate and change are turned off: the CLI flag, the wire's
param, the setting and its environment variable."""

from __future__ import annotations

from protocol.models import ChangeParams, GenerateParams
from server.cli import _generate_params, build_parser
from server.config import load_settings


def test_the_flag_turns_them_off_for_one_run_and_is_absent_otherwise():
    parser = build_parser()
    assert _generate_params(parser.parse_args(["generate", "--no-runtime-checks"])) == {
        "repair": True,
        "runtimeChecks": False,
    }
    assert "runtimeChecks" not in _generate_params(parser.parse_args(["generate"]))
    change = parser.parse_args(["change", "add a page", "--no-runtime-checks"])
    assert _generate_params(change)["runtimeChecks"] is False


def test_the_params_default_to_the_setting():
    assert GenerateParams.model_validate({}).runtime_checks is None
    assert (
        ChangeParams.model_validate({"request": "x", "runtimeChecks": False}).runtime_checks
        is False
    )


def test_the_setting_is_on_unless_turned_off():
    assert load_settings(None, {})[0].runtime_checks is True
    assert load_settings(None, {"STEPFORGE_RUNTIME_CHECKS": "0"})[0].runtime_checks is False
    assert load_settings({"runtimeChecks": False}, {})[0].runtime_checks is False
