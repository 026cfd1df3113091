"""The org YAML loader: the bundled sample, and errors that name the right line."""

from __future__ import annotations

from datetime import date, time
from pathlib import Path

import pytest

from bot.org_loader import OrgConfigError, load_org_config, parse_org_config
from domain.org import ROUTE_TO_WARD, Deadlines, UnitKind, WorkingTime

# Line numbers are written next to each line: the tests below break exactly one of them.
GOOD = [
    "name: Phường thử",  # 1
    "units:",  # 2
    "  - code: btg",  # 3
    "    name: Ban Tuyên giáo",  # 4
    "    kind: board",  # 5
    "  - code: bo-de",  # 6
    "    name: UBND phường Bồ Đề",  # 7
    "    kind: ward",  # 8
    "    parent: btg",  # 9
    "categories:",  # 10
    "  - {code: khac, name: Khác}",  # 11
    "  - {code: gpmb, name: Giải phóng mặt bằng, routes_to: bo-de, complex: true}",  # 12
    "working_time:",  # 13
    "  periods:",  # 14
    "    - {start: 08:00, end: 12:00}",  # 15
    "    - {start: 13:30, end: 17:00}",  # 16
]


def yaml_with(**changes: str) -> str:
    """GOOD with line N replaced by changes[f"line{N}"] (may hold several lines)."""
    lines = list(GOOD)
    for key, text in changes.items():
        lines[int(key.removeprefix("line")) - 1] = text
    return "\n".join(lines) + "\n"


def error_for(text: str) -> OrgConfigError:
    with pytest.raises(OrgConfigError) as caught:
        parse_org_config(text, "org.yaml")
    return caught.value


# --- the bundled sample ------------------------------------------------------------------------


def test_the_bundled_sample_loads_with_14_wards_and_6_categories() -> None:
    org = load_org_config()
    assert org.name.startswith("Quận Long Biên")
    assert len(org.wards) == 14
    assert len(org.categories) == 6
    assert {u.code for u in org.units if u.kind is UnitKind.BOARD} == {"btg"}
    assert org.unit("quan-long-bien") is not None
    assert org.unit("quan-long-bien").kind is UnitKind.DISTRICT  # type: ignore[union-attr]
    bo_de = org.unit("bo-de")
    assert bo_de is not None
    assert (bo_de.name, bo_de.label) == ("UBND phường Bồ Đề", "Phường Bồ Đề")
    assert org.unit("long-bien") in org.wards


def test_the_bundled_sample_routes_land_clearance_to_the_land_fund_centre() -> None:
    org = load_org_config()
    gpmb = org.category("giai-phong-mat-bang")
    assert gpmb is not None and gpmb.complex
    centre = org.unit(gpmb.routes_to)
    assert centre is not None and centre.name.startswith("Trung tâm Phát triển quỹ đất")
    others = [c for c in org.categories if c.code != "giai-phong-mat-bang"]
    assert all(c.routes_to == ROUTE_TO_WARD and not c.complex for c in others)


def test_the_bundled_sample_uses_the_default_deadlines_and_working_time() -> None:
    org = load_org_config()
    assert org.deadlines == Deadlines()
    assert org.working_time == WorkingTime()


def test_a_file_on_disk_loads(tmp_path: Path) -> None:
    path = tmp_path / "org.yaml"
    path.write_text(yaml_with(), encoding="utf-8")
    org = load_org_config(path)
    # A ward-only tree without a district is fine; unquoted 12:00 is a time, not 720.
    assert [u.code for u in org.wards] == ["bo-de"]
    assert org.working_time.periods[0] == (time(8, 0), time(12, 0))
    assert org.deadlines == Deadlines()


def test_a_missing_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(OrgConfigError, match="cannot read the file"):
        load_org_config(tmp_path / "nowhere.yaml")


def test_days_off_and_makeup_days_are_read() -> None:
    text = yaml_with(
        line16=(
            "    - {start: 13:30, end: 17:00}\n"
            "  country_holidays: null\n"
            "  extra_days_off: [2027-02-11]\n"
            "  makeup_working_days:\n"
            "    - 2027-02-20"
        )
    )
    wt = parse_org_config(text).working_time
    assert wt.country_holidays is None
    assert wt.extra_days_off == (date(2027, 2, 11),)
    assert wt.makeup_working_days == (date(2027, 2, 20),)


# --- broken files name the right line ----------------------------------------------------------


def test_bad_indentation_is_a_syntax_error_on_its_line() -> None:
    error = error_for(yaml_with(line8="   kind: ward"))
    assert error.line == 8
    assert str(error).startswith("org.yaml line 8: YAML syntax error")
    assert "indentation" in str(error)


def test_unknown_parent() -> None:
    error = error_for(yaml_with(line9="    parent: quan-lb"))
    assert str(error) == 'org.yaml line 9: unit "bo-de": parent "quan-lb" is not a unit code'


def test_duplicate_unit_code() -> None:
    error = error_for(yaml_with(line6="  - code: btg"))
    assert error.line == 6
    assert 'unit code "btg" is used twice (first on line 3)' in str(error)


def test_unknown_key_is_a_typo() -> None:
    error = error_for(yaml_with(line9="    parnet: btg"))
    assert str(error) == (
        'org.yaml line 9: unit "bo-de": unknown key "parnet" (did you mean "parent"?)'
    )


def test_bad_time() -> None:
    error = error_for(yaml_with(line16="    - {start: 13:30, end: 25:00}"))
    assert error.line == 16
    assert "working_time: period 2: end: '25:00' is not a time" in str(error)


def test_period_that_ends_before_it_starts() -> None:
    error = error_for(yaml_with(line15="    - {start: 12:00, end: 08:00}"))
    assert error.line == 15
    assert "must start before it ends" in str(error)


def test_overlapping_periods() -> None:
    error = error_for(yaml_with(line16="    - {start: 11:30, end: 17:00}"))
    assert error.line == 16
    assert "overlaps" in str(error)


def test_a_key_given_twice() -> None:
    error = error_for(yaml_with(line9="    parent: btg\n    kind: board"))
    assert str(error) == 'org.yaml line 10: key "kind" appears twice (first on line 8)'


def test_parent_cycle() -> None:
    error = error_for(yaml_with(line5="    kind: board\n    parent: bo-de"))
    assert error.line == 6
    assert "go round in a circle (btg → bo-de → btg)" in str(error)


def test_routes_to_must_be_ward_or_a_unit() -> None:
    text = yaml_with(line12="  - {code: gpmb, name: Giải phóng mặt bằng, routes_to: ptqd}")
    error = error_for(text)
    assert error.line == 12
    assert 'routes_to "ptqd" is neither "ward" nor a unit code' in str(error)


def test_unknown_unit_kind() -> None:
    error = error_for(yaml_with(line8="    kind: phuong"))
    assert error.line == 8
    assert str(error).startswith('org.yaml line 8: unit "bo-de": kind: Input should be')


def test_a_board_and_a_ward_are_required() -> None:
    error = error_for(yaml_with(line5="    kind: department"))
    assert error.line == 3
    assert 'no unit of kind "board"' in str(error)


def test_several_problems_each_get_a_line() -> None:
    text = yaml_with(
        line16=(
            "    - {start: 13:30, end: 17:00}\n"  # 16
            "  timezone: Asia/Hanoi\n"  # 17
            "  weekdays: [0, 7]\n"  # 18
            "  extra_days_off: [2027-02-30]\n"  # 19
            "deadlines:\n"  # 20
            "  normal_working_days: 0"  # 21
        )
    )
    error = error_for(text)
    assert [p.line for p in error.problems] == [17, 18, 19, 21]
    assert 'unknown timezone "Asia/Hanoi"' in str(error)
    assert "weekday 7 is not between 0 (Monday) and 6 (Sunday)" in str(error)
    assert "2027-02-30 is not a valid date" in str(error)
    assert "normal_working_days: Input should be greater than 0" in str(error)


def test_unknown_country_for_public_holidays() -> None:
    error = error_for(yaml_with(line16="    - {start: 13:30, end: 17:00}\n  country_holidays: XX"))
    assert error.line == 17
    assert 'no country "XX"' in str(error)


def test_an_empty_file() -> None:
    assert str(error_for("")) == "org.yaml line 1: the file is empty"


@pytest.mark.parametrize(("line", "said"), [
    ("deadlines: {acknowledge_working_hours: .inf}", "a valid number"),
    ("deadlines: {acknowledge_working_hours: 1e300}", "less than or equal to 2000"),
    ("deadlines: {normal_working_days: 100000000}", "less than or equal to 365"),
])
def test_deadlines_the_calendar_could_not_count_are_refused(line: str, said: str) -> None:
    error = error_for(yaml_with() + line + "\n")  # line 17
    assert error.line == 17 and said in str(error)


@pytest.mark.parametrize(("text", "said"), [
    (yaml_with(line4="    name: Ban\x0bTuyên giáo"), "line 4: a character that cannot be in"),
    (yaml_with(line4="    name: !!int five"), "a value cannot be read"),
    (yaml_with(line9="    parent: btg\x00"), "line 9: a character that cannot be in"),
])
def test_a_file_that_cannot_be_read_is_named_not_a_traceback(text: str, said: str) -> None:
    assert said in str(error_for(text))


def test_a_key_in_the_wrong_block_is_not_called_a_typo_of_itself() -> None:
    error = error_for(yaml_with(line11="  - {code: khac, name: Khác, parent: btg}"))
    assert 'category "khac": "parent" does not belong here' in str(error)
    assert "did you mean" not in str(error)
