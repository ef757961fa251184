"""The readers on the real public files (DeepLabCut, BORIS, Caltech annotator, a rat head IMU)."""

import numpy as np
import pytest

from ratbehavior.data.dlc import individuals, read_dlc
from ratbehavior.data.imu import read_imu
from ratbehavior.data.label_imports import read_caltech_annotations, read_interval_table
from ratbehavior.data.labels import read_boris
from ratbehavior.data.session import SessionMeta
from tests.realdata import REALDATA, real

RAT_DLC = "rat_social_dlc_caltech/{n}DLC_dlcrnetms5_DLC_ratJan24shuffle1_5000_el_filtered.csv"
MOUSE_PAIR = (
    "mouse_pair_ethome/e3v813a-20210610T122332-122642DLC_dlcrnetms5_pilot_studySep24shuffle1_100000_el_filtered.csv"
)


def test_multi_animal_rat_file_keeps_its_all_empty_first_frame():
    pose = read_dlc(real(RAT_DLC.format(n=1)))
    assert len(pose) == 14734
    assert pose.index[0] == 0 and pose.index[-1] == 14733
    assert pose.iloc[0].isna().all()
    assert list(pose.columns.get_level_values(0).unique()) == ["top", "body", "tail", "tail-m", "tail-e"]


def test_multi_animal_files_select_an_individual_by_name():
    path = real(RAT_DLC.format(n=2))
    assert individuals(path) == ["individual1", "individual2"]
    first, second = read_dlc(path), read_dlc(path, individual="individual2")
    assert len(first) == len(second) == 15060
    assert not np.allclose(first.fillna(0).to_numpy(), second.fillna(0).to_numpy())
    with pytest.raises(ValueError, match="individual 'rat3' not in the file"):
        read_dlc(path, individual="rat3")


def test_mouse_pair_and_single_animal_openfield_files():
    pair = read_dlc(real(MOUSE_PAIR))
    assert pair.shape == (5700, 21)
    single = read_dlc(real("mouse_pair_ethome/openfield_dlc_inference_example.csv"))
    assert single.shape == (2330, 12)
    assert (
        ((single.xs("likelihood", axis=1, level=1) >= 0) & (single.xs("likelihood", axis=1, level=1) <= 1)).all().all()
    )


@pytest.mark.parametrize("name", ["8_01_A_190507134142", "12_01_A_190507144429"])
def test_dlc_files_resaved_by_pandas_with_an_extra_index_column(name):
    pose = read_dlc(
        real(f"mouse_oft_sturman2020/{name}DeepCut_resnet50_Blockcourse1May9shuffle1_1030000.first2000.csv")
    )
    assert pose.shape == (1998, 54)
    assert pose.index[0] == 0


def test_h5_round_trip_matches_csv(tmp_path):
    pose = read_dlc(real("mouse_pair_ethome/openfield_dlc_inference_example.csv"))
    columns = pose.columns
    frame = pose.copy()
    frame.columns = frame.columns.to_frame().assign(scorer="DLC_x").set_index(["scorer", "bodyparts", "coords"]).index
    frame.to_hdf(tmp_path / "pose.h5", key="df_with_missing", format="table")
    again = read_dlc(tmp_path / "pose.h5")
    assert (again.columns == columns).all()
    np.testing.assert_array_equal(again.to_numpy(), pose.to_numpy())


def test_rat_head_imu_in_g_with_a_sample_counter():
    meta = SessionMeta(
        animal="rat", day=1, video_fps=30, imu_rate_hz=100, imu_units={"acc": "g", "gyr": "deg/s"},
        imu_counter_column="counter", imu_counter_rate_hz=300,
    )  # fmt: skip
    imu = read_imu(real("rat_head_imu_fayat2021/example_imu.csv"), meta)
    assert len(imu) == 4893
    assert imu["time_s"].iloc[0] == 0 and 48 < imu["time_s"].iloc[-1] < 50
    gravity = np.median(np.linalg.norm(imu[["acc_x", "acc_y", "acc_z"]].to_numpy(), axis=1))
    assert 9.0 < gravity < 10.6


def test_boris_event_exports_single_and_overlapping_behaviours():
    single = read_boris(real("mouse_pair_ethome/e3v813a-20210610T122332-122642_reencode.boris.csv"), 50, ["interact"])
    # The first event starts at 29.850 s: the first grid frame at or after it is 1493 (29.86 s).
    assert single.index[0] == 1493 and single["interact"].iloc[:5].tolist() == [1, 1, 1, 1, 1]
    # It stops at 34.725 s: frame 1736 (34.72 s) is inside, 1737 is not.
    assert single.loc[1736, "interact"] == 1 and single.loc[1737, "interact"] == 0
    both = read_boris(
        real("mouse_pair_ethome/e3v813a-20210610T120637-121213_reencode_multiple_behaviors.boris.csv"),
        50,
        ["interact", "mount"],
    )
    assert (both.sum(axis=1) == 2).any()
    with pytest.raises(ValueError, match=r"unknown behaviours \['mount'\]"):
        read_boris(
            real("mouse_pair_ethome/e3v813a-20210610T120637-121213_reencode_multiple_behaviors.boris.csv"),
            50,
            ["interact"],
        )


def test_every_caltech_annotation_file_reads():
    files = sorted((REALDATA / "rat_social_dlc_caltech" / "annotations").glob("*_annot.txt"))
    if not files:
        pytest.skip("real annotations not found")
    assert len(files) == 58
    for path in files:
        table = read_caltech_annotations(path, video_fps=30, grid_hz=50)
        assert table.index[0] == 0 and len(table) > 1000, path.name
        assert set(np.unique(table.to_numpy())) <= {0, 1}
    # Video 1 frame 536-961 is 'social' in stream S1: at 30 fps that is 17.83-32.03 s.
    table = read_caltech_annotations(files[0].with_name("1_annot.txt"), video_fps=30, grid_hz=50)
    assert table.loc[892:1600, "social"].all() and table.loc[1602, "social"] == 0


def test_interval_tables_of_three_raters():
    labels = ["Supported", "Unsupported", "Grooming"]
    one = read_interval_table(
        real("mouse_oft_sturman2020/8_01_A_190507134142.labels.csv"), 50, labels, where={"Experimenter": "Oliver"}
    )
    assert one["Supported"].sum() > 0
    everyone = real("mouse_oft_sturman2020/AllLabDataOFT_final.csv")
    raters = [
        read_interval_table(everyone, 50, labels, where={"Experimenter": r, "ID": "OFT_11"}, sep=";")
        for r in ("Jin", "Oliver", "Furkan")
    ]
    assert all(r["Supported"].sum() > 0 for r in raters)
