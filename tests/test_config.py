"""The config file: written in full on first run, read back, overridden by MTOR_* variables."""
from __future__ import annotations

import dataclasses
import tomllib

import pytest

from mtor_server import config


def test_first_run_writes_every_default_with_a_comment(tmp_path):
    data_dir = tmp_path / "fresh" / "dir"
    cfg = config.load(data_dir, environ={})
    text = (data_dir / config.CONFIG_FILE).read_text()
    parsed = tomllib.loads(text)
    lines = text.splitlines()
    for section in dataclasses.fields(config.Config):
        for item in dataclasses.fields(getattr(cfg, section.name)):
            assert parsed[section.name][item.name] == getattr(getattr(cfg, section.name), item.name)
            i = lines.index(next(line for line in lines if line.startswith(f"{item.name} = ")))
            assert lines[i - 1].startswith("# ") and len(lines[i - 1]) > 10  # every key says what it means
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
