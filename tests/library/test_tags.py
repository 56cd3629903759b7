"""User tags on regions and files beside the classifier's model tags, and tag counts."""

from __future__ import annotations

import pytest

from database import queries
from database.session import Database
from database.tags import InvalidTag, NoSuchTarget, Target, add_user_tags, remove_user_tags, tag_counts, target_tags
from tests.library.helpers import add_file, classified


@pytest.fixture
def library(database: Database) -> tuple[Database, list[int], list[int]]:
    """Two files: a kick (model tag 0.9) and a snare region; one untagged region."""
    first = add_file(database, "/lib/drums.wav", [classified("kick", 0.9), classified("snare", 0.7)])
    second = add_file(database, "/lib/pad.wav", [classified()])
    return database, first, second


def test_user_tags_are_added_once_normalised_and_kept_apart_from_model_tags(library) -> None:
    database, (kick, _), _ = library
    with database.session() as session:
        tags = add_user_tags(session, Target(region_id=kick), ["Kick", "  Dusty   Vinyl ", "dusty vinyl"])
    assert tags == [{"tag": "dusty vinyl", "probability": None, "source": "user"},
                    {"tag": "kick", "probability": None, "source": "user"},
                    {"tag": "kick", "probability": 0.9, "source": "model"}]
    with database.session() as session:
        again = add_user_tags(session, Target(region_id=kick), ["kick"])
    assert again == tags
    with database.session() as session:
        left = remove_user_tags(session, Target(region_id=kick), ["KICK", "never there"])
    assert left == [{"tag": "dusty vinyl", "probability": None, "source": "user"},
                    {"tag": "kick", "probability": 0.9, "source": "model"}]  # the model's tag stays


def test_a_file_tag_finds_the_files_regions_in_search(library) -> None:
    database, _, (pad,) = library
    with database.session() as session:
        file_id = queries.get_region(session, pad)["file_id"]
        assert add_user_tags(session, Target(file_id=file_id), ["warm"]) == [
            {"tag": "warm", "probability": None, "source": "user"}]
        total, rows, _ = queries.search_regions(session, queries.RegionQuery(tag="Warm"))
        assert total == 1 and rows[0]["id"] == pad
        assert remove_user_tags(session, Target(file_id=file_id), ["warm"]) == []
        assert target_tags(session, Target(file_id=file_id)) == []


def test_counts_per_tag_and_source(library) -> None:
    database, (kick, snare), (pad,) = library
    with database.session() as session:
        add_user_tags(session, Target(region_id=kick), ["kick"])
        add_user_tags(session, Target(region_id=pad), ["kick", "pad"])
        add_user_tags(session, Target(file_id=queries.get_region(session, pad)["file_id"]), ["pad"])
        counts = {entry["tag"]: entry for entry in tag_counts(session)}
        assert counts["kick"] == {"tag": "kick", "user": {"regions": 2, "files": 0},
                                  "model": {"regions": 1, "files": 0}, "regions": 2}
        assert counts["pad"]["user"] == {"regions": 1, "files": 1}
        assert counts["snare"]["model"] == {"regions": 1, "files": 0}
        assert [e["tag"] for e in tag_counts(session)][0] == "kick"  # most used first
        assert [e["tag"] for e in tag_counts(session, source="user")] == ["kick", "pad"]
        assert [e["tag"] for e in tag_counts(session, prefix="SN")] == ["snare"]
        assert tag_counts(session, prefix="100%_") == []  # LIKE wildcards are literal


def test_bad_tags_and_missing_targets_are_typed_errors(library) -> None:
    database, (kick, _), _ = library
    with database.session() as session:
        with pytest.raises(InvalidTag, match="empty"):
            add_user_tags(session, Target(region_id=kick), ["   "])
        with pytest.raises(InvalidTag, match="at most 128"):
            add_user_tags(session, Target(region_id=kick), ["x" * 129])
        for control in ("\x00", "a\x1bb", "\x7f"):  # schemathesis sent ["0", "\x00"] twice: a 500 before
            with pytest.raises(InvalidTag, match="control characters"):
                add_user_tags(session, Target(region_id=kick), ["0", control])
        with pytest.raises(NoSuchTarget, match="no region with id 999999"):
            add_user_tags(session, Target(region_id=999_999), ["kick"])
        with pytest.raises(NoSuchTarget, match="no file with id 999999"):
            remove_user_tags(session, Target(file_id=999_999), ["kick"])
    with pytest.raises(ValueError, match="not both"):
        Target(region_id=1, file_id=1)
