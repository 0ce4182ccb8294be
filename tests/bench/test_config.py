"""Benchmark configuration: TOML and flags, checked before anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from greenai.bench.config import TECHNIQUES, BenchConfig, split_list
from greenai.errors import ConfigError


def test_defaults_cover_every_builtin_technique_and_both_phases() -> None:
    config = BenchConfig()
    assert config.techniques == TECHNIQUES
    assert config.phases == ("inference", "training")
    assert config.cells_count() == len(TECHNIQUES) * 2


def test_toml_bench_table_then_flags_win(tmp_path: Path) -> None:
    path = tmp_path / "bench.toml"
    path.write_text(
        '[bench]\nmodels = ["gpt-tiny"]\ntechniques = ["baseline", "int8"]\n'
        "batch_sizes = [1, 4]\nrepeats = 5\n",
        encoding="utf-8",
    )
    config = BenchConfig.from_toml(path)
    assert config.models == ("gpt-tiny",) and config.batch_sizes == (1, 4)
    assert config.techniques == ("baseline", "int8") and config.repeats == 5
    merged = BenchConfig.from_mapping({"repeats": 2, "phases": "inference", "seed": None}, config)
    assert merged.repeats == 2 and merged.phases == ("inference",) and merged.seed == 0
    assert merged.techniques == ("baseline", "int8")


def test_top_level_toml_keys_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bench.toml"
    path.write_text('models = ["gpt-tiny"]\ndevice = "cpu"\n', encoding="utf-8")
    assert BenchConfig.from_toml(path).device == "cpu"


@pytest.mark.parametrize(
    ("values", "key", "accepted"),
    [
        ({"techniques": ["baseline", "fp4"]}, "techniques", "one of: baseline"),
        ({"phases": []}, "phases", "at least one"),
        ({"batch_sizes": [8, 0]}, "batch_sizes", "> 0"),
        ({"repeats": 0}, "repeats", "> 0"),
        ({"device": "tpu"}, "device", "auto, cpu, cuda"),
        ({"models": ["gpt-huge"]}, "models", "gpt-small"),
        ({"repeat": 3}, "repeat", "repeats"),
        ({"models": [], "hf_models": []}, "models", "at least one model"),
    ],
)
def test_bad_values_name_the_key_and_what_is_accepted(
    values: dict[str, object], key: str, accepted: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        BenchConfig.from_mapping(values)
    assert caught.value.key == key
    assert accepted in str(caught.value)


def test_malformed_toml_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "bench.toml"
    path.write_text("models = [", encoding="utf-8")
    with pytest.raises(ConfigError, match="TOML"):
        BenchConfig.from_toml(path)


def test_split_list() -> None:
    assert split_list(" a, b,,c ") == ["a", "b", "c"]
    assert split_list(None) is None


def test_importing_the_bench_package_loads_no_heavy_module() -> None:
    import subprocess
    import sys

    code = (
        "import sys, greenai.bench, greenai.bench.config, greenai.bench.stats, "
        "greenai.bench.summary, greenai.bench.cache\n"
        "heavy = ('torch', 'torchao', 'rich', 'typer', 'pandas', 'sqlalchemy', 'transformers')\n"
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_windows_longer_than_the_context_fail_before_any_training(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from greenai.bench.runner import run_bench

    config = BenchConfig(models=("gpt-tiny",), data_dir=str(tmp_path), threads=1)
    with pytest.raises(ConfigError) as caught:
        run_bench(config, show_progress=False)
    assert caught.value.key == "decode_tokens" and "<= 64 (the context of gpt-tiny)" in str(
        caught.value
    )
    assert not (tmp_path / "models").exists()
