"""Randomised collection: `record --randomize`, the stored `scene`, `info`, and selection by scene."""

import json

import numpy as np
import pytest

from app.cli import main
from devices.sim.randomization import SceneRanges, parse_ranges
from recorder.dataset import Dataset
from recorder.scene import episode_scene, parse_conditions, scene_matches


def test_parse_ranges_reads_ranges_and_fixed_values():
    r = parse_ranges("object_color:0-0.5, table_color:0.25-0.75,lighting:0.3")
    assert r.as_dict() == {"object_color": [0.0, 0.5], "table_color": [0.25, 0.75], "lighting": [0.3, 0.3]}
    assert parse_ranges(r.text()) == r
    assert not parse_ranges("") and not parse_ranges(None)


@pytest.mark.parametrize("text, needle", [
    ("object_color", "NAME:LOW-HIGH"), ("object_color:a-b", "LOW-HIGH numbers"), ("colour:0-1", "unknown perturbation"),
    ("object_color:0-1.5", "[0, 1]"), ("object_color:0.6-0.2", "low end is above"),
    ("object_color:0-0.2,object_color:0-0.3", "twice"), ("object_color:nan-0.2", "[0, 1]"), (":0-1", "NAME:LOW-HIGH"),
])
def test_parse_ranges_refuses_bad_input_in_one_line(text, needle):
    with pytest.raises(ValueError) as err:
        parse_ranges(text)
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_draw_is_seeded_within_range_and_differs_between_seeds():
    r = parse_ranges("object_color:0.1-0.5,table_color:0-1")
    a, b = r.draw(3), r.draw(3)
    assert a == b
    draws = [r.draw(s) for s in range(50)]
    assert all(0.1 <= d["object_color"] <= 0.5 and 0 <= d["table_color"] <= 1 for d in draws)
    assert len({d["object_color"] for d in draws}) > 40
    assert SceneRanges().draw(3) == {}


def test_conditions_parse_and_match():
    conds = parse_conditions(["object_color>=0.25", "table_color<0.5,lighting=0"], known=["object_color",
                                                                                         "table_color", "lighting"])
    assert [c.text() for c in conds] == ["object_color>=0.25", "table_color<0.5", "lighting=0"]
    assert scene_matches({"object_color": 0.3, "table_color": 0.1}, conds)
    assert not scene_matches({"object_color": 0.2}, conds)  # too little object colour
    assert not scene_matches({"object_color": 0.3, "lighting": 0.1}, conds)
    for bad in ("object_color", "object_color>>1", "object_color>=x", "object_color>=inf"):
        with pytest.raises(ValueError):
            parse_conditions([bad])
    with pytest.raises(ValueError, match="unknown perturbation"):
        parse_conditions(["colour>0"], known=["object_color"])


def test_episode_scene_falls_back_to_the_station_perturbations():
    attrs = {"station": {"perturbations": {"lighting": 0.5}}}
    assert episode_scene(attrs.get) == {"lighting": 0.5}
    attrs["scene"] = {"perturbations": {"object_color": 0.2}, "randomize": {"object_color": [0, 0.5]}}
    assert episode_scene(attrs.get) == {"object_color": 0.2}
    assert episode_scene({}.get) == {}


@pytest.fixture(scope="module")
def randomized(tmp_path_factory):
    out = tmp_path_factory.mktemp("rand") / "ds"
    assert main(["record", "--out", str(out), "--episodes", "4", "--cameras", "scene", "--image-size", "32",
                 "--tail", "0.2", "--seed", "10", "--randomize", "object_color:0-1,table_color:0.2-0.4",
                 "--perturb", "lighting:0.1", "--json"]) == 0
    return out


def test_every_episode_stores_the_scene_it_was_recorded_in(randomized):
    ranges = parse_ranges("object_color:0-1,table_color:0.2-0.4")
    ds = Dataset(randomized)
    frames = []
    for i, eid in enumerate(ds.episode_ids()):
        with ds.open(eid) as ep:
            scene = ep.attrs["scene"]
            expected = {"lighting": 0.1, **ranges.draw(10 + i)}
            assert scene["perturbations"] == expected
            assert scene["randomize"] == {"object_color": [0.0, 1.0], "table_color": [0.2, 0.4]}
            assert ep.attrs["station"]["perturbations"] == expected  # the station's description follows
            assert episode_scene(ep.attr) == expected
            frames.append(ep.images("scene", 0).astype(int))
    # The drawn scenes are what the camera saw: the first frames differ between episodes.
    assert np.abs(frames[0] - frames[1]).sum() > 0


def test_the_same_seed_records_the_same_scene(randomized, tmp_path):
    out = tmp_path / "again"
    assert main(["record", "--out", str(out), "--episodes", "1", "--cameras", "scene", "--image-size", "32",
                 "--tail", "0.2", "--seed", "10", "--randomize", "object_color:0-1,table_color:0.2-0.4",
                 "--perturb", "lighting:0.1", "--json"]) == 0
    with Dataset(out).open("ep_000000") as a, Dataset(randomized).open("ep_000000") as b:
        assert a.attrs["scene"] == b.attrs["scene"]
        np.testing.assert_array_equal(a.images("scene", 0), b.images("scene", 0))


def test_info_shows_the_scene_spread(randomized, capsys):
    capsys.readouterr()
    assert main(["info", str(randomized), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["randomized"] == 4
    tc = info["scenes"]["table_color"]
    assert 0.2 <= tc["min"] <= tc["mean"] <= tc["max"] <= 0.4 and tc["episodes"] == 4
    assert info["scenes"]["lighting"] == {"episodes": 4, "min": 0.1, "max": 0.1, "mean": 0.1}
    assert main(["info", str(randomized)]) == 0
    assert "scenes (4 randomised episodes): " in capsys.readouterr().out


def test_curation_and_training_select_by_scene(randomized, capsys):
    from curation.scenes import episode_scenes, episodes_where
    from curation.workspace import open_workspace
    from policy.selection import EpisodeFilter, select_episodes

    with open_workspace(randomized) as ws:
        scenes = episode_scenes(ws)
        want = sorted(e for e, s in scenes.items() if s["object_color"] >= 0.5)
        assert 0 < len(want) < 4, "the fixture's seeds should straddle 0.5"
        assert episodes_where(ws, parse_conditions(["object_color>=0.5"])) == want
    capsys.readouterr()
    assert main(["curate", str(randomized), "--list", "--where", "object_color>=0.5", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["episodes"]
    assert [e["id"] for e in listed] == want and all(e["scene"]["object_color"] >= 0.5 for e in listed)

    chosen = select_episodes(Dataset(randomized), episode_filter=EpisodeFilter(where=("object_color>=0.5",)))
    assert [e.id for e in chosen.episodes] == want
    assert set(chosen.skipped) == set(scenes) - set(want)
    with pytest.raises(ValueError, match="unknown perturbation"):
        EpisodeFilter(where=("colour>0",))


@pytest.mark.parametrize("argv, needle", [
    (["record", "--randomize", "object_color:0-2"], "[0, 1]"),
    (["record", "--randomize", "nope:0-1"], "unknown perturbation"),
    (["record", "--randomize", "object_color:0-0.5", "--perturb", "object_color:0.2"], "both"),
    (["train", "--out", "RUN", "--where", "object_color>>1"], "--where"),
    (["curate", "--list", "--where", "object_color=x"], "not a number"),
])
def test_bad_ranges_and_conditions_exit_2_with_one_line(argv, needle, tmp_path, randomized, capsys):
    target = str(tmp_path / "new") if argv[0] == "record" else str(randomized)
    argv = [argv[0], *(["--out", target] if argv[0] == "record" else [target]), *argv[1:]]
    argv = [a if a != "RUN" else str(tmp_path / "run") for a in argv]
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and needle in err
