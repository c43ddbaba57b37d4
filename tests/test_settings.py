import json
import re
from pathlib import Path

import pytest

from app.settings import Settings, SettingsError, load_settings

ROOT = Path(__file__).resolve().parent.parent


def test_layers_apply_in_order_defaults_file_env_cli(tmp_path):
    cfg = tmp_path / "config.toml"
    cfg.write_text('top_k = 7\ncollection = "from-file"\ntemperature = 0.5\n')
    env = {"HEARTH_COLLECTION": "from-env", "HEARTH_TEMPERATURE": "0.9"}
    s = load_settings({"temperature": 0.1}, config_file=cfg, environ=env)
    assert s.top_k == 7  # file beats default
    assert s.collection == "from-env"  # environment beats file
    assert s.temperature == 0.1  # command line beats environment
    assert s.port == 7860  # default survives


def test_config_file_comes_from_hearth_config(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text("port = 9999\n")
    assert load_settings(environ={"HEARTH_CONFIG": str(cfg)}).port == 9999


def test_env_values_are_parsed_and_empty_means_not_set():
    s = load_settings(environ={"HEARTH_REQUIRE_LLAMA_GUARD": "true", "HEARTH_N_THREADS": "3", "HEARTH_MODEL": "",
                               "HEARTH_DATA_DIR": ""})
    assert s.require_llama_guard is True and s.n_threads == 3 and s.model is None
    assert "hearth" in str(s.data_dir).lower()


def test_bad_value_names_the_setting_and_its_source(tmp_path):
    with pytest.raises(SettingsError, match=r"guard_threshold \(from environment\)"):
        load_settings(environ={"HEARTH_GUARD_THRESHOLD": "1.5", "HEARTH_CONFIG": str(tmp_path / "none.toml")})


def test_unknown_key_in_config_file_is_an_error(tmp_path):
    cfg = tmp_path / "config.toml"
    cfg.write_text("top_kk = 3\n")
    with pytest.raises(SettingsError, match="unknown setting.*top_kk"):
        load_settings(config_file=cfg, environ={})


def test_broken_config_file_is_an_error(tmp_path):
    cfg = tmp_path / "config.toml"
    cfg.write_text("top_k = = 3\n")
    with pytest.raises(SettingsError, match="config.toml"):
        load_settings(config_file=cfg, environ={})


def test_settings_are_frozen():
    s = load_settings(environ={})
    with pytest.raises(Exception):
        s.top_k = 3


def test_data_dir_defaults_to_platform_folder(monkeypatch):
    monkeypatch.delenv("HEARTH_DATA_DIR")
    assert "hearth" in str(load_settings().data_dir).lower()


def test_every_setting_is_documented_in_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"`HEARTH_([A-Z_]+)`", readme))
    missing = {name.upper() for name in Settings.model_fields} - documented
    assert not missing, f"README lacks HEARTH_ settings: {sorted(missing)}"


def test_spaces_mode_from_hearth_mode_or_detected_from_space_id(tmp_path):
    none = str(tmp_path / "none.toml")
    assert load_settings(environ={"HEARTH_CONFIG": none}).mode == "desktop"
    assert load_settings(environ={"HEARTH_CONFIG": none}).host == "127.0.0.1"
    detected = load_settings(environ={"HEARTH_CONFIG": none, "SPACE_ID": "someone/hearth"})
    assert detected.mode == "spaces" and detected.host == "0.0.0.0"  # reached through the Space's proxy
    assert load_settings(environ={"HEARTH_CONFIG": none, "HEARTH_MODE": "spaces"}).mode == "spaces"
    forced = load_settings(environ={"HEARTH_CONFIG": none, "SPACE_ID": "x/y", "HEARTH_MODE": "desktop"})
    assert forced.mode == "desktop" and forced.host == "127.0.0.1"


def test_a_mistyped_variable_is_named_at_start_and_in_doctor_with_the_closest_setting():
    from conftest import run_cli

    r = run_cli("doctor", "--json", env={"HEARTH_CHAT_MODEL": "/models/qwen.gguf", "HEARTH_TOPK": "8"})
    assert r.returncode == 0, r.stderr
    assert "HEARTH_CHAT_MODEL is not a Hearth setting and is ignored; did you mean HEARTH_MODEL?" in r.stderr
    problems = json.loads(r.stdout)["problems"]
    assert any("HEARTH_TOPK" in p and "HEARTH_TOP_K" in p for p in problems)
    assert not any("HEARTH_DATA_DIR" in p or "HEARTH_CONFIG" in p for p in problems)  # real ones are not named


def test_an_unknown_config_key_names_the_closest_setting(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('chunksize = 300\n')
    with pytest.raises(SettingsError, match=r"chunksize \(did you mean chunk_size\?\)"):
        load_settings(config_file=cfg, environ={})
