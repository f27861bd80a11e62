import numpy as np
import pytest

from devices.sim.perturbations import perturbation_names, validate_perturbations
from devices.sim.station import make_station


def render(perturbations, seed=0):
    st = make_station("pick_place", perturbations=perturbations)
    st.connect()
    st.reset(seed)
    img = st.render("scene")
    cube_half = float(st.model.geom_size[st.model.geom("cube").id][0])
    st.disconnect()
    return img, cube_half


def test_all_named_perturbations_exist():
    assert {"camera_shift", "lighting", "table_color", "object_color", "object_size"} <= set(perturbation_names())


@pytest.mark.parametrize("name", ["camera_shift", "lighting", "table_color", "object_color", "object_size"])
def test_each_perturbation_changes_what_the_camera_sees_and_grows_with_severity(name):
    base, _ = render({})
    small, _ = render({name: 0.2})
    large, _ = render({name: 1.0})
    changed_small = (np.abs(small.astype(int) - base).sum(-1) > 24).sum()
    changed_large = (np.abs(large.astype(int) - base).sum(-1) > 24).sum()
    assert changed_large >= 10, "a full-severity perturbation must be visible"
    assert changed_large >= changed_small


def test_object_size_scales_the_cube():
    _, base = render({})
    _, big = render({"object_size": 1.0})
    assert abs(big / base - 1.0) == pytest.approx(0.3, abs=1e-6)


def test_zero_severity_is_the_training_scene():
    base, _ = render({})
    same, _ = render({"lighting": 0.0, "camera_shift": 0.0})
    np.testing.assert_array_equal(base, same)


def test_repeated_resets_do_not_compound():
    st = make_station("pick_place", cameras=(), perturbations={"object_size": 1.0})
    st.connect()
    sizes = set()
    for _ in range(3):
        st.reset(1)
        sizes.add(round(float(st.model.geom_size[st.model.geom("cube").id][0]), 6))
    assert len(sizes) == 1


@pytest.mark.parametrize("bad", [{"nope": 0.5}, {"lighting": 1.5}, {"lighting": -0.1}, {"lighting": float("nan")}])
def test_bad_perturbations_are_rejected(bad):
    with pytest.raises(ValueError):
        validate_perturbations(bad)
