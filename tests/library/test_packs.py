"""Sample packs drawn by category weights, balanced or by explicit choice, with filters,
seeds and a report of the distribution drawn next to the one asked."""

from __future__ import annotations

import pytest

from database.models import Tag, TagSource
from database.packs import PackError, PackRequest, draw_pack, load_weights, parse_weights, save_weights
from database.queries import RegionQuery
from database.session import Database
from tests.library.helpers import add_file, classified, user_tag_regions


def _draw(database: Database, **request) -> tuple[list[int], dict]:
    with database.session() as session:
        pack = draw_pack(session, PackRequest(**request))
    return pack.region_ids, pack.report


def _shares(report: dict) -> dict[str, tuple[float, float]]:
    return {c["tag"]: (c["asked"], c["drawn_share"]) for c in report["categories"]}


def test_a_thousand_draws_follow_the_weights_and_a_seed_repeats_them(database: Database) -> None:
    kicks = set(user_tag_regions(database, "kick", 600, "/lib/kicks.wav"))
    snares = set(user_tag_regions(database, "snare", 400, "/lib/snares.wav"))
    hats = set(user_tag_regions(database, "hat", 300, "/lib/hats.wav"))
    weights = parse_weights("kick=5, snare=3, hat=2, clap=1")
    ids, report = _draw(database, size=1000, weights=weights, seed=7)
    assert len(ids) == len(set(ids)) == 1000 and report["drawn"] == 1000
    for tag, (asked, drawn) in _shares(report).items():
        if tag != "clap":
            assert abs(drawn - asked) <= 0.03, (tag, asked, drawn)
    assert _shares(report)["kick"][0] == pytest.approx(0.5) and _shares(report)["hat"][0] == pytest.approx(0.2)
    assert sum(i in kicks for i in ids) == 500 and sum(i in snares for i in ids) == 300
    assert sum(i in hats for i in ids) == 200
    assert report["skipped"] == ["clap"] and report["messages"] == ["clap: no region matches, skipped"]
    assert _draw(database, size=1000, weights=weights, seed=7)[0] == ids
    assert set(_draw(database, size=50, weights=weights, seed=8)[0]) != set(_draw(database, size=50, weights=weights,
                                                                                 seed=7)[0])
    assert isinstance(_draw(database, size=5, weights=weights)[1]["seed"], int)  # an unseeded draw names its seed


def test_a_short_category_gives_what_it_has_and_the_rest_follows_the_weights(database: Database) -> None:
    user_tag_regions(database, "kick", 10, "/lib/kicks.wav")
    user_tag_regions(database, "snare", 100, "/lib/snares.wav")
    user_tag_regions(database, "hat", 100, "/lib/hats.wav")
    ids, report = _draw(database, size=100, weights={"kick": 0.5, "snare": 0.3, "hat": 0.2}, seed=1)
    drawn = {c["tag"]: c["drawn"] for c in report["categories"]}
    assert len(ids) == 100 and drawn == {"kick": 10, "snare": 54, "hat": 36}
    assert report["messages"] == ["kick: only 10 matching regions; the rest was drawn from the others"]
    ids, report = _draw(database, size=500, weights={"kick": 1, "snare": 1}, seed=1)
    assert len(ids) == 110 and report["messages"][-1] == "only 110 regions match the categories and filters, not 500"


def test_explicit_categories_balanced_mode_filters_and_model_tags(database: Database) -> None:
    slow = set(user_tag_regions(database, "loop", 20, "/lib/slow.wav", bpm=90.0))
    user_tag_regions(database, "loop", 20, "/lib/fast.wav", bpm=140.0)
    user_tag_regions(database, "pad", 5, "/lib/pads.wav")
    confident, unsure = add_file(database, "/lib/model.wav", [classified("kick", 0.9), classified("kick", 0.3)])

    ids, report = _draw(database, size=10, weights={"loop": 1, "pad": 1}, categories=("Loop",), seed=2)
    assert report["mode"] == "categories" and [c["tag"] for c in report["categories"]] == ["loop"] and len(ids) == 10
    ids, _ = _draw(database, size=10, categories=("loop",), query=RegionQuery(bpm_max=100), seed=2)
    assert set(ids) <= slow

    ids, report = _draw(database, size=10, weights={"loop": 9, "pad": 1}, balanced=True, seed=3)
    assert report["mode"] == "balanced" and {c["tag"]: c["drawn"] for c in report["categories"]} == \
        {"loop": 5, "pad": 5}
    _, report = _draw(database, size=4, balanced=True, seed=3)  # no weights: every person's tag
    assert [c["tag"] for c in report["categories"]] == ["loop", "pad"]

    assert set(_draw(database, size=5, categories=("kick",), seed=4)[0]) == {confident, unsure}
    assert _draw(database, size=5, categories=("kick",), tag_min=0.5, seed=4)[0] == [confident]


def test_a_region_in_two_categories_is_drawn_once(database: Database) -> None:
    (both,) = user_tag_regions(database, "kick", 1, "/lib/both.wav")
    with database.session() as session:
        session.add(Tag(region_id=both, tag="snare", source=TagSource.USER))
    ids, report = _draw(database, size=2, weights={"kick": 1, "snare": 1}, seed=0)
    assert ids == [both] and report["drawn"] == 1


def test_weights_are_saved_per_library_and_used_when_none_are_given(database: Database) -> None:
    user_tag_regions(database, "kick", 5, "/lib/kicks.wav")
    with database.session() as session:
        assert load_weights(session) == {}
        with pytest.raises(PackError, match="none are saved"):
            draw_pack(session, PackRequest(size=3))
        save_weights(session, {"Kick": 2.0, "snare": 1.0})
        save_weights(session, {"kick": 3.0, "hat": 1.0})  # replaces the whole set
    with database.session() as session:
        assert load_weights(session) == {"hat": 1.0, "kick": 3.0}
        assert draw_pack(session, PackRequest(size=3, seed=1)).report["skipped"] == ["hat"]


@pytest.mark.parametrize(("text", "message"), [
    ("kick", "not a weight"), ("kick=x", "not a number"), ("kick=-1", "≥ 0"), ("kick=nan", "≥ 0 and"),
    ("kick=0,snare=0", "every weight is 0"), ("kick=1e10", "≤ 1e[+]09"), ("", "no weights"), ("  =1", "not a weight")])
def test_bad_weights(text: str, message: str) -> None:
    with pytest.raises(PackError, match=message):
        parse_weights(text)


def test_impossible_packs(database: Database) -> None:
    with database.session() as session:
        with pytest.raises(PackError, match="1 to"):
            draw_pack(session, PackRequest(size=0, categories=("kick",)))
        with pytest.raises(PackError, match="no region matches any of the categories kick"):
            draw_pack(session, PackRequest(size=3, categories=("kick",)))
        with pytest.raises(PackError, match="balanced mode needs categories"):
            draw_pack(session, PackRequest(size=3, balanced=True))
        with pytest.raises(PackError, match="empty"):
            draw_pack(session, PackRequest(size=3, categories=(" ",)))
    assert parse_weights("Kick=1, kick=2") == {"kick": 3.0}


def test_a_tag_filter_and_the_categories_both_apply(database: Database) -> None:
    kicks = user_tag_regions(database, "kick", 4, "/lib/kicks.wav")
    with database.session() as session:
        session.add_all(Tag(region_id=i, tag="dusty", source=TagSource.USER) for i in kicks[:2])
    ids, _ = _draw(database, size=4, categories=("kick",), query=RegionQuery(tag="dusty"), seed=0)
    assert sorted(ids) == kicks[:2]
