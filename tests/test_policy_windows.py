import numpy as np
import pytest
import torch
from episode_files import tiny_run_config, write_dataset, write_episode

from policy.selection import EpisodeFilter, RawEpisodes, SelectedEpisode, fingerprint, select_episodes
from policy.windows import Windows, batch_stream, kept_segments, split_episodes
from recorder.dataset import Dataset


@pytest.fixture
def data(tmp_path):
    write_dataset(tmp_path, episodes=3, length=12, image_size=32)
    return tmp_path


class FakeCuration(RawEpisodes):
    """Curation's answers for a test (what the catalog adapter provides in production)."""

    def __init__(self, masks=None, deleted=(), tags=None, outcomes=None, subsets=None):
        self.masks, self.deleted = masks or {}, set(deleted)
        self._tags, self._outcomes, self._subsets = tags or {}, outcomes or {}, subsets or {}

    def kept_mask(self, episode_id, length):
        if episode_id in self.deleted:
            return None
        return self.masks.get(episode_id, np.ones(length, bool))

    def tags(self, episode_id):
        return frozenset(self._tags.get(episode_id, ()))

    def outcome(self, episode_id):
        return self._outcomes.get(episode_id)

    def subset(self, episode_id):
        return self._subsets.get(episode_id)


def windows(root, curation=None, episode_filter=None, cache=True, **policy):
    cfg = tiny_run_config(**policy).policy
    sel = select_episodes(Dataset(root), curation, episode_filter)
    return Windows(lambda: Dataset(root), sel.episodes, cfg, cache_images=cache), sel


def test_windows_pad_at_the_edges_and_never_cross_episodes(data):
    w, sel = windows(data, obs_steps=2, horizon=8)
    assert len(w) == 36
    ep0 = Dataset(data).open("ep_000000")
    first = w[0]
    obs_pose = torch.from_numpy(ep0.obs("ee_pose"))
    assert torch.allclose(first["lowdim"][0, :3], obs_pose[0, :3]) and torch.allclose(first["lowdim"][1, :3], obs_pose[0, :3])
    last = w[11]  # last sample of episode 0: actions after it repeat its last action
    act = torch.from_numpy(ep0.action())
    assert torch.allclose(last["action"][:, :3], act[11, :3].expand(8, 3))
    second = w[12]  # first window of episode 1 starts fresh
    ep1 = Dataset(data).open("ep_000001")
    assert torch.allclose(second["lowdim"][0, :3], torch.from_numpy(ep1.obs("ee_pose"))[0, :3])
    assert first["images"]["scene"].shape == (2, 32, 32, 3) and first["images"]["scene"].dtype == torch.uint8
    ep0.close()
    ep1.close()


def test_image_history_can_be_shorter_than_low_dim_history(data):
    w, _ = windows(data, obs_steps=2, image_obs_steps=1)
    b = w.batch(torch.tensor([0, 5]))
    assert b["images"]["wrist"].shape == (2, 1, 32, 32, 3) and b["lowdim"].shape == (2, 2, 10)


def test_trims_deletes_and_filters_are_honoured(data):
    mask = np.ones(12, bool)
    mask[:3] = False
    cur = FakeCuration(masks={"ep_000000": mask}, deleted={"ep_000001"}, tags={"ep_000002": {"recovery"}})
    w, sel = windows(data, curation=cur)
    assert [e.id for e in sel] == ["ep_000000", "ep_000002"] and sel.skipped == {"ep_000001": "deleted"}
    assert len(w) == 9 + 12
    ep0 = Dataset(data).open("ep_000000")
    assert torch.allclose(w[0]["lowdim"][0, :3], torch.from_numpy(ep0.obs("ee_pose"))[3, :3])  # starts after the trim
    ep0.close()
    _, sel = windows(data, curation=cur, episode_filter=EpisodeFilter(exclude_tags=("recovery",)))
    assert [e.id for e in sel] == ["ep_000000"]
    _, sel = windows(data, curation=cur, episode_filter=EpisodeFilter(include_tags=("recovery",)))
    assert [e.id for e in sel] == ["ep_000002"]


def test_outcome_filter_uses_curation_then_the_file(tmp_path):
    write_episode(tmp_path, 0, success=True)
    write_episode(tmp_path, 1, success=False)
    write_episode(tmp_path, 2, success=None)
    only_ok = EpisodeFilter(outcomes=("success",))
    assert [e.id for e in select_episodes(Dataset(tmp_path), None, only_ok)] == ["ep_000000"]
    cur = FakeCuration(outcomes={"ep_000000": False, "ep_000002": True})  # the curator's word wins
    assert [e.id for e in select_episodes(Dataset(tmp_path), cur, only_ok)] == ["ep_000002"]
    with pytest.raises(ValueError, match="unknown outcome"):
        EpisodeFilter(outcomes=("great",))


def test_cuts_join_over_idle_spans_and_split_where_the_hand_moved():
    kept = np.array([0, 1, 2, 5, 6, 9, 10])
    pos = np.zeros((11, 3))
    pos[9:] = 0.2  # the hand moved during the second cut
    grip = np.zeros((11, 1))
    assert kept_segments(kept, pos, grip) == [(0, 5), (5, 7)]
    assert kept_segments(np.arange(4), np.zeros((4, 3)), np.zeros((4, 1))) == [(0, 4)]


def test_lazy_windows_equal_cached_ones(data):
    cached, _ = windows(data, cache=True)
    lazy, _ = windows(data, cache=False)
    for i in (0, 7, 20, 35):
        a, b = cached[i], lazy[i]
        assert torch.equal(a["images"]["scene"], b["images"]["scene"]) and torch.equal(a["action"], b["action"])
    loader_batch = next(batch_stream(lazy, 4, seed=0, num_workers=0))
    assert loader_batch["images"]["scene"].shape == (4, 2, 32, 32, 3)


def test_batches_shard_by_rank_without_overlap(data):
    w, _ = windows(data)
    seen = []
    for rank in (0, 1):
        b = next(batch_stream(w, 18, seed=3, rank=rank, world=2))
        keys = torch.cat([b["lowdim"][:, -1, :3], b["action"][:, 0, :3]], -1)  # unique per (episode, sample)
        seen.append({tuple(x.tolist()) for x in keys})
    assert not seen[0] & seen[1]


def test_nan_and_missing_cameras_are_one_line_errors(tmp_path):
    write_episode(tmp_path, 0, nan_at=4)
    with pytest.raises(ValueError, match="ep_000000.*NaN"):
        windows(tmp_path)
    other = tmp_path / "other"
    write_episode(other, 0, cameras=("scene",))
    with pytest.raises(ValueError, match="no camera 'wrist'"):
        windows(other)


def test_split_and_fingerprint():
    eps = [SelectedEpisode(f"ep_{i:06d}", "t", np.arange(5), 5) for i in range(10)]
    train, val = split_episodes(eps, 0.2, seed=1)
    assert len(val) == 2 and not {e.id for e in train} & {e.id for e in val}
    fixed = [SelectedEpisode(e.id, e.task, e.kept, e.length, subset="valid" if i == 3 else "train") for i, e in enumerate(eps)]
    assert [e.id for e in split_episodes(fixed, 0.2, seed=1)[1]] == ["ep_000003"]  # the curator's split wins
    trimmed = [SelectedEpisode(eps[0].id, "t", np.arange(1, 5), 5), *eps[1:]]
    assert fingerprint(eps) == fingerprint(list(eps)) != fingerprint(trimmed)


def test_action_labels_are_the_sources_request_when_every_episode_stores_it(tmp_path):
    for i in range(2):
        write_episode(tmp_path, i, length=12, image_size=32, command_offset=0.05)
    with Dataset(tmp_path).open("ep_000000") as ep:
        command, applied = torch.from_numpy(ep.command()), torch.from_numpy(ep.action())
    auto, _ = windows(tmp_path, horizon=8)
    assert auto.action_label == "command"
    assert torch.allclose(auto[0]["action"][:, :3], command[:8, :3])
    forced, _ = windows(tmp_path, horizon=8, action_label="applied")
    assert forced.action_label == "applied"
    assert torch.allclose(forced[0]["action"][:, :3], applied[:8, :3])


def test_a_dataset_with_episodes_lacking_the_command_falls_back_to_applied_or_says_why(tmp_path):
    write_episode(tmp_path, 0, length=12, image_size=32, command_offset=0.05)
    write_episode(tmp_path, 1, length=12, image_size=32)  # recorded before commands were stored
    auto, sel = windows(tmp_path, horizon=8)
    assert auto.action_label == "applied" and [e.has_command for e in sel.episodes] == [True, False]
    with pytest.raises(ValueError, match="ep_000001 stores no command"):
        windows(tmp_path, horizon=8, action_label="command")
