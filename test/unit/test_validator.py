"""The mapping validator: one hand-made invalid mapping per rule."""

from __future__ import annotations

import dataclasses
from importlib import resources

import pytest
import yaml

from miredo.errors import MiredoError
from miredo.solver.hardware import arch_from_dict, load_arch
from miredo.solver.mapping import Loop, Mapping
from miredo.solver.validator import check, validate
from miredo.solver.workload import Layer

TINY = load_arch("tiny")
LAYER = Layer("v", {"K": 4, "C": 2, "P": 4, "R": 2})
BASE = Mapping(
    spatial={
        "cores": (Loop("P", 2),),
        "rows": (Loop("C", 2),),
        "cols": (Loop("K", 2),),
    },
    temporal=(Loop("R", 2), Loop("K", 2), Loop("P", 2)),
    level_of={
        "I": ("DRAM", "GB", "LB"),
        "W": ("DRAM", "LB", "Macro"),
        "O": ("LB", "LB", "LB"),
    },
    bypass={"W": {"GB"}, "O": {"GB"}},
    double_buffer={("LB", "I"), ("OReg", "O")},
)


def with_(**changes: object) -> Mapping:
    return dataclasses.replace(BASE, **changes)  # type: ignore[arg-type]


def only(m: Mapping, fragment: str) -> None:
    problems = validate(LAYER, TINY, m)
    assert len(problems) == 1, problems
    assert fragment in problems[0], problems


def test_base_is_valid() -> None:
    assert validate(LAYER, TINY, BASE) == []
    check(LAYER, TINY, BASE)


def test_level_list_length() -> None:
    only(with_(level_of={**BASE.level_of, "I": ("DRAM", "GB")}), "levels given for 3")


def test_unknown_axis() -> None:
    only(with_(spatial={**BASE.spatial, "banks": ()}), "spatial axis 'banks'")


def test_factor_product() -> None:
    only(
        with_(temporal=(Loop("R", 2), Loop("K", 4), Loop("P", 2))),
        "dim K: factors multiply to 8, bound is 4",
    )


def test_spatial_limit() -> None:
    only(
        with_(
            spatial={**BASE.spatial, "cores": (Loop("P", 2), Loop("K", 2))},
            temporal=(Loop("R", 2), Loop("K", 1), Loop("P", 2)),
        ),
        "axis cores: unrolled 4 > size 2",
    )


def test_dim_not_allowed_on_axis() -> None:
    only(
        with_(
            spatial={**BASE.spatial, "rows": (Loop("P", 2),)},
            temporal=(Loop("R", 2), Loop("K", 2), Loop("C", 2)),
        ),
        "axis rows cannot unroll dim P",
    )


def test_level_not_admissible() -> None:
    only(
        with_(level_of={**BASE.level_of, "W": ("DRAM", "LB", "IReg")}),
        "level IReg, which cannot hold W",
    )


def test_unknown_level() -> None:
    only(
        with_(level_of={**BASE.level_of, "W": ("DRAM", "LB", "SRAM")}),
        "unknown level 'SRAM'",
    )


def test_monotone_levels() -> None:
    only(
        with_(level_of={**BASE.level_of, "I": ("GB", "DRAM", "LB")}),
        "levels must be monotone",
    )


def test_loop_at_bypassed_level() -> None:
    only(
        with_(level_of={**BASE.level_of, "W": ("DRAM", "GB", "Macro")}),
        "level GB, which W bypasses",
    )


@pytest.mark.parametrize(
    ("operand", "skip", "levels", "fragment"),
    [
        (
            "I",
            {"DRAM"},
            ("GB", "GB", "LB"),
            "the outermost level DRAM cannot be bypassed",
        ),
        (
            "W",
            {"GB", "Macro"},
            ("DRAM", "LB", "LB"),
            "its innermost level Macro cannot be bypassed",
        ),
        ("I", {"LB"}, ("DRAM", "GB", "GB"), "level LB does not allow bypass"),
        (
            "W",
            {"GB", "IReg"},
            ("DRAM", "LB", "Macro"),
            "'IReg' is not a level that holds W",
        ),
    ],
)
def test_bypass_legality(
    operand: str, skip: set[str], levels: tuple[str, ...], fragment: str
) -> None:
    m = with_(
        bypass={**BASE.bypass, operand: skip},
        level_of={**BASE.level_of, operand: levels},
        double_buffer={("OReg", "O")},
    )
    only(m, fragment)


@pytest.mark.parametrize(
    ("pair", "fragment"),
    [
        (("Macro", "W"), "Macro does not allow double buffering"),
        (("DRAM", "I"), "DRAM does not allow double buffering"),
        (("GB", "W"), "W does not use GB"),
    ],
)
def test_double_buffer_legality(pair: tuple[str, str], fragment: str) -> None:
    only(with_(double_buffer=BASE.double_buffer | {pair}), fragment)


def test_macro_double_buffer_blocked_by_mode_switch() -> None:
    # A variant of tiny whose macro level allows double buffering: the
    # weight-write/compute mode switch still forbids it for W.
    raw = yaml.safe_load(
        resources.files("miredo.arch").joinpath("tiny.yaml").read_text()
    )
    for level in raw["levels"]:
        if level["name"] == "Macro":
            level["double_buffer"] = True
    arch = arch_from_dict(raw)
    m = with_(double_buffer=BASE.double_buffer | {("Macro", "W")})
    problems = validate(LAYER, arch, m)
    assert len(problems) == 1 and "weight writes block compute" in problems[0]
    raw["macro"]["weight_write_blocks_compute"] = False
    assert validate(LAYER, arch_from_dict(raw), m) == [
        "level Macro: needs 32 bits per instance, capacity 16"
    ]


def test_capacity_counts_double_buffering() -> None:
    # LB is exactly full (I 16 x2 + W 32 + O 64 = 128 bits); double-buffering W
    # there needs 32 more bits.
    only(
        with_(double_buffer=BASE.double_buffer | {("LB", "W")}),
        "level LB: needs 160 bits per instance, capacity 128",
    )


def test_capacity_without_double_buffering() -> None:
    # One more relevant loop for O at OReg: K2 x P2 psums = 32 bits, x2 db = 64.
    only(
        with_(level_of={**BASE.level_of, "O": ("LB", "LB", "OReg")}),
        "level OReg: needs 64 bits per instance, capacity 32",
    )


def test_check_raises_one_line() -> None:
    bad = with_(temporal=(Loop("R", 2), Loop("K", 4), Loop("P", 2)))
    with pytest.raises(MiredoError) as info:
        check(LAYER, TINY, bad)
    assert info.value.where == "layer v"
    assert "dim K" in str(info.value)
    assert "\n" not in str(info.value)
