"""Episodes per operator, from the episode files' own `operator` attribute."""

import h5py
import numpy as np

from curation.operators import UNNAMED, operator_counts
from tests.curation_fixtures import still_then_move, write_corrupt, write_episode


def test_operator_counts_read_each_file_skip_damage_and_deleted(tmp_path):
    root = tmp_path / "ds"
    for i, who in enumerate(["ada", "bob", "ada", "", "ada"]):
        pose, grip = still_then_move(4, 4, 0, 4, 2, rng=np.random.default_rng(i))
        path = write_episode(root, i, pose, grip)
        with h5py.File(path, "r+") as f:
            f.attrs["operator"] = who
    write_corrupt(root, 9)
    assert operator_counts(root) == {"ada": 3, "bob": 1, UNNAMED: 1}
    assert list(operator_counts(root)) == ["ada", UNNAMED, "bob"]  # most first, then by name
    assert operator_counts(root, is_deleted=lambda eid: eid == "ep_000000") == {"ada": 2, "bob": 1, UNNAMED: 1}
