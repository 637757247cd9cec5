"""Hardware descriptions: the shipped files and one test per class of YAML error."""

from __future__ import annotations

import copy
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

from miredo.errors import MiredoError
from miredo.solver.hardware import PACKAGED, load_arch

TINY_RAW: dict[str, Any] = yaml.safe_load(
    resources.files("miredo.arch").joinpath("tiny.yaml").read_text()
)


@pytest.mark.parametrize("name", PACKAGED)
def test_packaged_files_load(name: str) -> None:
    arch = load_arch(name)
    assert arch.name == name
    assert arch.levels[0].capacity_bits is None
    assert len(arch.content_hash) == 64


def test_table4_matches_paper_table_iv() -> None:
    a = load_arch("table4")
    assert (a.macro.rows, a.macro.cols, a.n_cores) == (128, 32, 8)
    assert a.level("LB").capacity_bits == 256 * 1024 * 8
    assert a.level("LB").bw_bits_per_cycle == 128 and a.level("LB").per_core
    assert a.level("GB").capacity_bits == 8 * 1024 * 8
    assert a.level("GB").bw_bits_per_cycle == 256 and not a.level("GB").per_core
    assert a.level("DRAM").bw_bits_per_cycle == 64
    assert (a.precision.input, a.precision.weight, a.precision.psum) == (8, 8, 32)
    assert a.t_mvm == 8
    assert a.macro.weight_write_blocks_compute
    assert a.levels_for("I") == ("DRAM", "GB", "LB", "IReg")
    assert a.levels_for("W") == ("DRAM", "GB", "LB", "Macro")
    assert a.innermost("O") == "OReg"
    assert set(a.cores_axis.dims) == {"K", "P", "Q", "G", "N"}
    assert [ax.name for ax in a.array_axes] == ["rows", "cols"]
    assert load_arch() == a  # the default


def test_content_hash_tracks_content(tmp_path: Path) -> None:
    raw = copy.deepcopy(TINY_RAW)
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump(raw))
    assert load_arch(path).content_hash == load_arch("tiny").content_hash
    raw["levels"][1]["capacity_bits"] = 512
    path.write_text(yaml.safe_dump(raw))
    assert load_arch(path).content_hash != load_arch("tiny").content_hash


def _error(tmp_path: Path, edit: Callable[[dict[str, Any]], None]) -> MiredoError:
    raw = copy.deepcopy(TINY_RAW)
    edit(raw)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    with pytest.raises(MiredoError) as info:
        load_arch(path)
    err = info.value
    assert "\n" not in str(err)
    assert err.where is not None and err.where.startswith(f"{path}: ")
    return err


def _field(err: MiredoError) -> str:
    assert err.where is not None
    return err.where.split(": ", 1)[1]


def test_missing_field(tmp_path: Path) -> None:
    err = _error(tmp_path, lambda r: r["macro"].pop("rows"))
    assert _field(err) == "macro.rows"
    assert "missing required field 'rows'" in err.message


def test_wrong_type(tmp_path: Path) -> None:
    err = _error(tmp_path, lambda r: r["macro"].__setitem__("cols", "wide"))
    assert _field(err) == "macro.cols"
    assert "'wide'" in err.message and "integer" in err.message


def test_negative_size(tmp_path: Path) -> None:
    err = _error(tmp_path, lambda r: r["levels"][2].__setitem__("capacity_bits", -8))
    assert _field(err) == "levels[2].capacity_bits"
    assert "greater than 0" in err.message


def test_unknown_dim_on_axis(tmp_path: Path) -> None:
    err = _error(tmp_path, lambda r: r["spatial"][1].__setitem__("dims", ["C", "X"]))
    assert _field(err) == "spatial[1].dims[1]"
    assert "'X'" in err.message and "'C'" in err.message


def test_unknown_operand(tmp_path: Path) -> None:
    err = _error(tmp_path, lambda r: r["levels"][3].__setitem__("operands", ["A"]))
    assert _field(err) == "levels[3].operands[0]"
    assert "'I', 'W' or 'O'" in err.message


def test_unknown_field(tmp_path: Path) -> None:
    err = _error(tmp_path, lambda r: r["levels"][0].__setitem__("colour", "red"))
    assert _field(err) == "levels[0].colour"
    assert "unknown field 'colour'" in err.message


def test_duplicate_level_name(tmp_path: Path) -> None:
    err = _error(tmp_path, lambda r: r["levels"][2].__setitem__("name", "GB"))
    assert _field(err) == "levels[2].name"
    assert "duplicate level name 'GB'" in err.message


def test_unknown_level_referenced(tmp_path: Path) -> None:
    err = _error(tmp_path, lambda r: r["macro"].__setitem__("level", "Array"))
    assert _field(err) == "macro.level"
    assert "unknown level 'Array'" in err.message


def test_unbounded_inner_level(tmp_path: Path) -> None:
    err = _error(tmp_path, lambda r: r["levels"][1].__setitem__("capacity_bits", None))
    assert _field(err) == "levels[1].capacity_bits"
    assert "only the outermost level may be unbounded" in err.message


def test_shared_level_inside_per_core(tmp_path: Path) -> None:
    err = _error(tmp_path, lambda r: r["levels"][3].__setitem__("per_core", False))
    assert _field(err) == "levels[3].per_core"


def test_outermost_bypass(tmp_path: Path) -> None:
    err = _error(tmp_path, lambda r: r["levels"][0].__setitem__("bypass", True))
    assert _field(err) == "levels[0].bypass"


def test_cores_axis_count(tmp_path: Path) -> None:
    err = _error(tmp_path, lambda r: r["spatial"][1].__setitem__("kind", "cores"))
    assert _field(err) == "spatial"
    assert "exactly one axis of kind 'cores', found 2" in err.message


def test_array_axes_match_macro(tmp_path: Path) -> None:
    err = _error(tmp_path, lambda r: r["spatial"][2].__setitem__("size", 4))
    assert _field(err) == "spatial"
    assert "2x2" in err.message


def test_yaml_syntax_error_has_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("name: x\nclock_mhz: 1\nlevels: [a, b\nspatial: []\n")
    with pytest.raises(MiredoError) as info:
        load_arch(path)
    assert info.value.where is not None
    assert info.value.where.startswith(f"{path}:4")
    assert "invalid YAML syntax" in info.value.message


def test_not_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text("- 1\n- 2\n")
    with pytest.raises(MiredoError, match="expected a mapping"):
        load_arch(path)


def test_missing_file() -> None:
    with pytest.raises(MiredoError, match=r"no hardware file 'nowhere\.yaml'"):
        load_arch("nowhere.yaml")
