"""The config file: written in full on first run, read back, overridden by MTOR_* variables."""
from __future__ import annotations

import dataclasses
import subprocess
import sys
import tomllib

import pytest
from mtor_client import kinds

from mtor_common import config


def test_first_run_writes_every_default_with_a_comment(tmp_path):
    import mtor_worker.backends  # noqa: F401  (declares the backends' sections, as the mtor command does)

    data_dir = tmp_path / "fresh" / "dir"
    cfg = config.load(data_dir, environ={})
    text = (data_dir / config.CONFIG_FILE).read_text()
    parsed = tomllib.loads(text)
    lines = text.splitlines()
    assert {"timeouts", "costs", "llama", "whisper", "piper", "bark", "diffusers", "transformers",
            "upstream"} <= set(cfg.sections())

    def check(node, table: dict, name: str) -> None:
        for item in dataclasses.fields(node):
            value = getattr(node, item.name)
            if dataclasses.is_dataclass(value):  # a nested table: [costs.chat]
                check(value, table[item.name], f"{name}.{item.name}")
                continue
            assert table[item.name] == value
            start = lines.index(f"[{name}]")
            i = lines.index(next(line for line in lines[start:] if line.startswith(f"{item.name} = ")))
            assert lines[i - 1].startswith("# ") and len(lines[i - 1]) > 10  # every key says what it means

    for name, section in cfg.sections().items():
        check(section, parsed[name], name)
    assert config.load(data_dir, environ={}) == cfg  # and reads back unchanged


def test_file_edits_and_environment_override(tmp_path):
    config.load(tmp_path, environ={})
    path = tmp_path / config.CONFIG_FILE
    path.write_text(path.read_text().replace("max_depth = 100", "max_depth = 7"))
    cfg = config.load(tmp_path, environ={"MTOR_HEALTH_HEARTBEAT_INTERVAL_S": "0.25",
                                         "MTOR_WORKER_BACKENDS": "echo, chat"})
    assert cfg.queue.max_depth == 7
    assert cfg.health.heartbeat_interval_s == 0.25
    assert cfg.worker.backends == ["echo", "chat"]


@pytest.mark.parametrize("content,message", [
    ("[queue]\nmax_depth = 'many'\n", "queue.max_depth: cannot read 'many' as int"),
    ("[nope]\nx = 1\n", "unknown section [nope]"),
    ("[queue]\nmax_dept = 1\n", "unknown key queue.max_dept"),
    ("[queue\n", "mtor.toml"),
])
def test_bad_config_is_a_clear_error(tmp_path, content, message):
    (tmp_path / config.CONFIG_FILE).write_text(content)
    with pytest.raises(config.ConfigError) as e:
        config.load(tmp_path, environ={})
    assert message in str(e.value)


def test_bad_environment_value_names_the_variable_key(tmp_path):
    with pytest.raises(config.ConfigError) as e:
        config.load(tmp_path, environ={"MTOR_QUEUE_MAX_DEPTH": "lots"})
    assert "environment: queue.max_depth" in str(e.value)


def test_a_config_file_from_before_per_kind_costs_still_loads(tmp_path):
    (tmp_path / "mtor.toml").write_text("[costs]\nbase = 0.5\nper_second = 0.25\nimagine_base = 2.0\n")
    cfg = config.load(tmp_path, environ={})
    assert cfg.costs.rates("chat") == (0.5, 0.25)
    assert cfg.costs.rates("imagine") == (2.0, 0.25)  # its own setting wins over the old shared one


def test_settings_are_asked_by_kind(tmp_path):
    (tmp_path / "mtor.toml").write_text("[timeouts]\nchat = 5\n[costs.speak]\nbase = 0.5\n")
    cfg = config.load(tmp_path, environ={"MTOR_TIMEOUTS_EMBED": "7", "MTOR_COSTS_SPEAK_PER_SECOND": "0.25"})
    assert cfg.timeouts.for_kind("chat") == 5.0 and cfg.timeouts.for_kind("embed") == 7.0
    assert cfg.timeouts.for_kind("imagine") == 300.0
    assert cfg.costs.rates("speak") == (0.5, 0.25) and cfg.costs.rates("chat") == (0.01, 0.001)
    assert set(config.WORKER_KINDS) == set(kinds.WORKER_KINDS)  # one entry for every kind a worker serves


def test_a_config_file_from_before_per_kind_tables_still_loads(tmp_path):
    (tmp_path / "mtor.toml").write_text("[timeouts]\nchat_s = 5\nimagine_s = 50\n"
                                        "[costs]\nchat_base = 0.5\nchat_per_second = 0.25\nspeak_base = 2.0\n")
    cfg = config.load(tmp_path, environ={"MTOR_TIMEOUTS_VISION_S": "9"})
    assert cfg.timeouts.for_kind("chat") == 5.0 and cfg.timeouts.for_kind("imagine") == 50.0
    assert cfg.timeouts.for_kind("vision") == 9.0 and cfg.timeouts.for_kind("speak") == 120.0
    assert cfg.costs.rates("chat") == (0.5, 0.25) and cfg.costs.rates("speak") == (2.0, 0.001)


def test_new_names_win_over_old_ones(tmp_path):
    (tmp_path / "mtor.toml").write_text("[timeouts]\nchat_s = 5\nchat = 6\n[costs]\nbase = 1.0\n"
                                        "[costs.chat]\nbase = 3.0\n")
    cfg = config.load(tmp_path, environ={"MTOR_TIMEOUTS_SPEAK_S": "1", "MTOR_TIMEOUTS_SPEAK": "2"})
    assert cfg.timeouts.for_kind("chat") == 6.0 and cfg.timeouts.for_kind("speak") == 2.0
    assert cfg.costs.rates("chat")[0] == 3.0 and cfg.costs.rates("embed")[0] == 1.0
    cfg = config.load(tmp_path, environ={"MTOR_TIMEOUTS_CHAT_S": "8"})  # the environment overrides the file
    assert cfg.timeouts.for_kind("chat") == 8.0


def test_a_backend_section_is_declared_by_its_backend(tmp_path):
    import mtor_worker.backends  # noqa: F401
    from mtor_worker.backends.llama import LlamaSection

    (tmp_path / "mtor.toml").write_text("[llama]\nthreads = 2\n")
    cfg = config.load(tmp_path, environ={"MTOR_LLAMA_TEMPERATURE": "0"})
    assert isinstance(cfg.section("llama"), LlamaSection)
    assert cfg.section("llama").threads == 2 and cfg.section("llama").temperature == 0.0
    assert "unknown key llama.nope" in _error(tmp_path, "[llama]\nnope = 1\n")
    assert "unknown key costs.chat.nope" in _error(tmp_path, "[costs.chat]\nnope = 1\n")


def test_the_realm_does_not_know_the_backends_sections():
    code = ("import sys; from mtor_common import config; from mtor_server import realm, server; "
            "print(sorted(config.Config().sections()), "
            "[m for m in sys.modules if m.startswith('mtor_worker.backends')])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "'llama'" not in out and out.strip().endswith("[]")


def _error(data_dir, content: str) -> str:
    (data_dir / config.CONFIG_FILE).write_text(content)
    with pytest.raises(config.ConfigError) as e:
        config.load(data_dir, environ={})
    return str(e.value)
