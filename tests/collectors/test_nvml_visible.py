"""CUDA_VISIBLE_DEVICES and CUDA_DEVICE_ORDER mapped onto NVML indices (pure functions)."""

from __future__ import annotations

import pytest

from collectors.nvml.visible import (
    GpuInfo,
    match_uuid_prefix,
    parse_entry,
    parse_visible_devices,
    resolve_visible,
    visible_from_environ,
)

U0 = "GPU-8932f937-d72c-4106-c12f-20bd9faed9f6"
U1 = "GPU-89a1b2c3-0000-4000-8000-000000000001"
U2 = "GPU-12345678-0000-4000-8000-000000000002"
U3 = "GPU-abcdef01-0000-4000-8000-000000000003"
SAME = [GpuInfo(i, u, "NVIDIA H100 80GB HBM3") for i, u in enumerate((U0, U1, U2, U3))]
MIXED = [
    GpuInfo(0, U0, "NVIDIA A100-SXM4-80GB"),
    GpuInfo(1, U1, "NVIDIA H100 80GB HBM3"),
    GpuInfo(2, U2, "NVIDIA H100 80GB HBM3"),
    GpuInfo(3, U3, "NVIDIA A100-SXM4-80GB"),
]
MIG_A = "MIG-5c5ea2b1-4e5f-5b7a-9a42-1c2d3e4f5a6b"
MIG_B = "MIG-7d7ea2b1-4e5f-5b7a-9a42-1c2d3e4f5a6b"
MIG_PARENTS = {MIG_A: U1, MIG_B: U1}


def indices(value: str | None, gpus=SAME, order: str | None = None) -> tuple[int, ...]:
    return resolve_visible(gpus, value, order, MIG_PARENTS.get).indices


# -- parsing ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "index"),
    [
        ("0", "index", 0),
        (" 2 ", "index", 2),
        ("+3", "index", 3),
        ("1gpu", "index", 1),  # read like strtoul: leading digits
        ("GPU-89", "uuid", None),
        (MIG_A, "mig", None),
        (f"MIG-{U0}/1/0", "mig-legacy", None),
    ],
)
def test_parse_entry_kinds(text, kind, index):
    entry = parse_entry(text)
    assert entry is not None
    assert entry.kind == kind
    assert entry.index == index


@pytest.mark.parametrize("text", ["", " ", "-1", "-0x1", "abc", "GPU-", "MIG-", "MIG-GPU-"])
def test_parse_entry_invalid(text):
    assert parse_entry(text) is None


def test_legacy_mig_entry_names_its_parent():
    entry = parse_entry(f"MIG-{U2}/3/0")
    assert entry is not None
    assert entry.gpu_uuid == U2


def test_parse_stops_at_first_invalid_entry():
    entries, invalid = parse_visible_devices("0,2,-1,1")
    assert [e.index for e in entries] == [0, 2]
    assert invalid == "-1"


# -- unset, empty, -1 ------------------------------------------------------------------


def test_unset_means_every_gpu_in_nvml_order():
    vis = resolve_visible(SAME, None)
    assert vis.indices == (0, 1, 2, 3)
    assert not vis.order_uncertain
    assert vis.notes == ()


@pytest.mark.parametrize("value", ["", "  ", "-1", "-1,0", "none", ",0"])
def test_empty_or_invalid_first_entry_hides_every_gpu(value):
    vis = resolve_visible(SAME, value)
    assert vis.indices == ()
    assert vis.notes  # says why


# -- indices ---------------------------------------------------------------------------


def test_indices_in_the_order_given():
    assert indices("2,1") == (2, 1)
    assert indices("3") == (3,)


def test_list_stops_at_invalid_index_as_cuda_documents():
    vis = resolve_visible(SAME, "0,2,-1,1")
    assert vis.indices == (0, 2)
    assert any("'-1'" in note for note in vis.notes)


def test_out_of_range_index_ends_the_list():
    assert indices("1,7,0") == (1,)


def test_repeated_device_makes_the_list_empty():
    vis = resolve_visible(SAME, "0,1,0")
    assert vis.indices == ()
    assert "twice" in vis.notes[0]


def test_same_gpu_by_index_and_uuid_is_a_repeat():
    assert indices(f"0,{U0}") == ()


def test_whitespace_around_entries_is_ignored():
    assert indices(" 1 , 0 ") == (1, 0)


# -- UUIDs -----------------------------------------------------------------------------


def test_full_uuids():
    assert indices(f"{U2},{U0}") == (2, 0)


def test_unique_uuid_prefix_selects_the_gpu():
    assert indices("GPU-1234") == (2,)
    assert indices("GPU-abcdef01,GPU-8932") == (3, 0)


def test_uuid_prefix_is_case_insensitive():
    assert indices("GPU-ABCDEF") == (3,)


def test_ambiguous_uuid_prefix_is_invalid():
    # U0 and U1 both start with GPU-89.
    assert match_uuid_prefix("GPU-89", SAME) is None
    assert indices("GPU-1234,GPU-89,GPU-abc") == (2,)


def test_unknown_uuid_ends_the_list():
    assert indices("GPU-abc,GPU-ffff,GPU-1234") == (3,)


def test_indices_and_uuids_mixed():
    assert indices(f"1,{U3}") == (1, 3)


# -- MIG -------------------------------------------------------------------------------


def test_mig_uuid_reports_its_parent_once_with_a_note():
    vis = resolve_visible(SAME, f"{MIG_A},{MIG_B}", None, MIG_PARENTS.get)
    assert vis.indices == (1,)
    (note,) = vis.device_notes[1]
    assert MIG_A in note
    assert MIG_B in note
    assert "whole GPU" in note


def test_legacy_mig_format_maps_to_parent_without_nvml():
    vis = resolve_visible(SAME, f"MIG-{U2}/1/0,MIG-{U2}/2/0")
    assert vis.indices == (2,)
    assert "MIG" in vis.device_notes[2][0]


def test_mig_uuid_unknown_to_nvml_is_invalid():
    vis = resolve_visible(SAME, "MIG-00000000-aaaa-bbbb-cccc-000000000000", None, MIG_PARENTS.get)
    assert vis.indices == ()


def test_mig_uuid_without_a_parent_lookup_is_invalid():
    assert resolve_visible(SAME, MIG_A).indices == ()


def test_same_mig_device_twice_makes_the_list_empty():
    assert indices(f"{MIG_A},{MIG_A}") == ()


def test_mig_and_its_parent_by_index_are_reported_once():
    vis = resolve_visible(SAME, f"{MIG_A},0,1", None, MIG_PARENTS.get)
    assert vis.indices == (1, 0)


# -- CUDA_DEVICE_ORDER -----------------------------------------------------------------


def test_identical_gpus_have_one_order():
    vis = resolve_visible(SAME, "1,0", "FASTEST_FIRST")
    assert not vis.order_uncertain
    assert vis.device_notes == {}


def test_pci_bus_order_matches_nvml_even_for_different_gpus():
    vis = resolve_visible(MIXED, "2,0", "PCI_BUS_ID")
    assert vis.indices == (2, 0)
    assert not vis.order_uncertain


@pytest.mark.parametrize("order", [None, "FASTEST_FIRST", "pci_bus_id", "bogus"])
def test_default_order_with_different_gpus_is_flagged(order):
    vis = resolve_visible(MIXED, "2,0", order)
    assert vis.indices == (2, 0)
    assert vis.order_uncertain
    assert "CUDA_DEVICE_ORDER=PCI_BUS_ID" in vis.device_notes[2][0]
    assert "may be another GPU" in vis.device_notes[0][0]


def test_unset_visible_devices_with_different_gpus_flags_the_order_only():
    vis = resolve_visible(MIXED, None)
    assert vis.indices == (0, 1, 2, 3)
    assert vis.order_uncertain
    assert all("every GPU is visible" in vis.device_notes[i][0] for i in range(4))


def test_uuids_are_exact_whatever_the_order():
    vis = resolve_visible(MIXED, f"{U2},{U0}", "FASTEST_FIRST")
    assert vis.indices == (2, 0)
    assert not vis.order_uncertain
    assert vis.device_notes == {}


def test_only_gpus_given_by_index_carry_the_order_note():
    vis = resolve_visible(MIXED, f"{U3},1", None)
    assert vis.order_uncertain
    assert 3 not in vis.device_notes
    assert 1 in vis.device_notes


def test_visible_from_environ_reads_both_variables():
    env = {"CUDA_VISIBLE_DEVICES": "3,1", "CUDA_DEVICE_ORDER": "PCI_BUS_ID"}
    vis = visible_from_environ(MIXED, env)
    assert vis.indices == (3, 1)
    assert not vis.order_uncertain
    assert visible_from_environ(MIXED, {}).indices == (0, 1, 2, 3)
