"""Working-time arithmetic: domain/calendar.py.

Default working time: Mon–Fri 08:00–12:00 and 13:30–17:00 in Asia/Ho_Chi_Minh (UTC+7, no DST),
so one working day is 4 h + 3.5 h = 7.5 working hours. All expected values are worked out by
hand in the comments; local times are ICT (UTC+7).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import holidays
import pytest

from domain.calendar import WorkingCalendar, acknowledge_deadline, answer_deadline
from domain.org import Deadlines, WorkingTime
from domain.reports import Urgency

ICT = ZoneInfo("Asia/Ho_Chi_Minh")


def ict(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ICT)


def assert_utc(moment: datetime, expected_local: datetime) -> None:
    assert moment.tzinfo is UTC
    assert moment == expected_local


@pytest.fixture
def cal() -> WorkingCalendar:
    return WorkingCalendar()


FRIDAY_1655 = ict(2026, 3, 6, 16, 55)


def test_the_fixture_dates_are_what_the_comments_say() -> None:
    assert FRIDAY_1655.weekday() == 4
    assert date(2026, 3, 7).weekday() == 5
    assert date(2027, 2, 3).weekday() == 2


# --- add_working_hours -------------------------------------------------------------------------


def test_eight_hours_from_friday_1655_is_tuesday_0825(cal: WorkingCalendar) -> None:
    # Fri 16:55–17:00 = 0:05 -> 7:55 left; Mon 08:00–12:00 = 4:00 -> 3:55 left;
    # Mon 13:30–17:00 = 3:30 -> 0:25 left; Tue 08:00 + 0:25 = Tue 08:25 (01:25 UTC).
    # A working day holds only 7.5 h, so 8 working hours never fit into "the next day".
    result = cal.add_working_hours(FRIDAY_1655, 8)
    assert_utc(result, ict(2026, 3, 10, 8, 25))
    assert result == datetime(2026, 3, 10, 1, 25, tzinfo=UTC)


def test_four_hours_from_friday_1655_is_monday_1155(cal: WorkingCalendar) -> None:
    # Fri 0:05 -> 3:55 left; Mon 08:00 + 3:55 = 11:55.
    assert_utc(cal.add_working_hours(FRIDAY_1655, 4), ict(2026, 3, 9, 11, 55))


def test_crossing_the_lunch_break(cal: WorkingCalendar) -> None:
    # Mon 11:00–12:00 = 1:00 -> 1:00 left; 13:30 + 1:00 = 14:30.
    assert_utc(cal.add_working_hours(ict(2026, 3, 9, 11, 0), 2), ict(2026, 3, 9, 14, 30))


def test_filed_during_lunch_starts_counting_at_1330(cal: WorkingCalendar) -> None:
    assert_utc(cal.add_working_hours(ict(2026, 3, 9, 12, 40), 0.5), ict(2026, 3, 9, 14, 0))


def test_hours_that_end_exactly_at_closing_time_stay_on_that_day(cal: WorkingCalendar) -> None:
    assert_utc(cal.add_working_hours(ict(2026, 3, 9, 13, 30), 3.5), ict(2026, 3, 9, 17, 0))


def test_filed_on_a_saturday(cal: WorkingCalendar) -> None:
    # Nothing counts on Sat/Sun; Mon gives 7:30 -> 0:30 left; Tue 08:30.
    assert_utc(cal.add_working_hours(ict(2026, 3, 7, 10, 0), 8), ict(2026, 3, 10, 8, 30))


def test_filed_at_night(cal: WorkingCalendar) -> None:
    # Wed 22:00 -> counting starts Thu 08:00; + 1:00 = Thu 09:00.
    assert_utc(cal.add_working_hours(ict(2026, 3, 11, 22, 0), 1), ict(2026, 3, 12, 9, 0))


def test_input_in_another_timezone_gives_the_same_moment(cal: WorkingCalendar) -> None:
    as_utc = FRIDAY_1655.astimezone(UTC)  # 09:55 UTC
    assert cal.add_working_hours(as_utc, 8) == cal.add_working_hours(FRIDAY_1655, 8)


def test_naive_datetimes_are_refused(cal: WorkingCalendar) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        cal.add_working_hours(datetime(2026, 3, 9, 9, 0), 1)


# --- public holidays (from the `holidays` library) --------------------------------------------


def test_the_library_gives_tet_2027_as_thursday_4_to_wednesday_10_february(
    cal: WorkingCalendar,
) -> None:
    # Tết 2027 is Sat 6 Feb; the library adds 29 Tết (Thu 4), giao thừa (Fri 5) and, for the
    # first days falling on the weekend, Mon 8 - Wed 10 (mùng 3-5 as observed days).
    tet = [date(2027, 2, day) for day in range(4, 11)]
    assert all(cal.is_public_holiday(d) for d in tet)
    assert not any(cal.is_working_day(d) for d in tet)
    assert cal.is_working_day(date(2027, 2, 3))
    assert cal.is_working_day(date(2027, 2, 11))


def test_the_library_gives_the_2026_holidays(cal: WorkingCalendar) -> None:
    days_off = [
        date(2026, 2, 16),  # giao thừa, Tết 2026 is Tue 17 Feb
        date(2026, 2, 20),  # mùng 4 Tết
        date(2026, 4, 27),  # Giỗ Tổ Hùng Vương (Sun 26 Apr) observed on Monday
        date(2026, 4, 30),
        date(2026, 5, 1),
        date(2026, 9, 1),
        date(2026, 9, 2),
    ]
    assert not any(cal.is_working_day(d) for d in days_off)


def test_eight_hours_across_tet_2027(cal: WorkingCalendar) -> None:
    # Wed 3 Feb 16:00–17:00 = 1:00 -> 7:00 left; Thu 4 - Wed 10 are days off;
    # Thu 11 Feb 08:00–12:00 = 4:00 -> 3:00 left; 13:30 + 3:00 = 16:30.
    assert_utc(cal.add_working_hours(ict(2027, 2, 3, 16, 0), 8), ict(2027, 2, 11, 16, 30))


def test_a_saturday_the_government_swapped_into_a_working_day_counts(
    cal: WorkingCalendar,
) -> None:
    # 2026: Sat 22 Aug is worked so that Mon 31 Aug joins the National Day break.
    assert cal.is_working_day(date(2026, 8, 22))
    assert not cal.is_working_day(date(2026, 8, 31))


def test_no_country_means_no_public_holidays() -> None:
    cal = WorkingCalendar(WorkingTime(country_holidays=None))
    assert cal.is_working_day(date(2026, 4, 30))


def test_the_holiday_set_is_built_once_per_year(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[object] = []
    real = holidays.country_holidays

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs.get("years"))
        return real(*args, **kwargs)

    monkeypatch.setattr(holidays, "country_holidays", counting)
    cal = WorkingCalendar()
    for day in range(1, 29):
        cal.is_working_day(date(2026, 2, day))
    assert calls.count(2026) == 1


# --- the organisation's own days off and make-up days ---------------------------------------


def test_a_makeup_working_saturday_counts() -> None:
    cal = WorkingCalendar(WorkingTime(makeup_working_days=(date(2026, 3, 7),)))
    # Fri 0:05 -> 7:55 left; Sat 7 Mar is a working day: 7:30 -> 0:25 left; Mon 08:25.
    assert_utc(cal.add_working_hours(FRIDAY_1655, 8), ict(2026, 3, 9, 8, 25))


def test_an_extra_day_off_is_skipped() -> None:
    cal = WorkingCalendar(WorkingTime(extra_days_off=(date(2026, 3, 9),)))
    # Fri 0:05 -> 7:55 left; Mon 9 Mar is off; Tue 7:30 -> 0:25 left; Wed 08:25.
    assert_utc(cal.add_working_hours(FRIDAY_1655, 8), ict(2026, 3, 11, 8, 25))


def test_an_extra_day_off_wins_over_a_makeup_day() -> None:
    day = date(2026, 3, 7)
    cal = WorkingCalendar(WorkingTime(extra_days_off=(day,), makeup_working_days=(day,)))
    assert not cal.is_working_day(day)


# --- add_working_days --------------------------------------------------------------------------


def test_add_working_days_over_a_weekend_and_a_holiday(cal: WorkingCalendar) -> None:
    # Thu 23 Apr 2026 10:00 + 3: Fri 24 (1), Sat/Sun, Mon 27 = Hùng Kings observed,
    # Tue 28 (2), Wed 29 (3) -> Wed 29 Apr 10:00.
    assert_utc(cal.add_working_days(ict(2026, 4, 23, 10, 0), 3), ict(2026, 4, 29, 10, 0))
    # + 4: Thu 30/4 and Fri 1/5 are holidays, then the weekend -> Mon 4 May 10:00.
    assert_utc(cal.add_working_days(ict(2026, 4, 23, 10, 0), 4), ict(2026, 5, 4, 10, 0))


def test_add_working_days_from_a_saturday_counts_from_monday_0800(cal: WorkingCalendar) -> None:
    # Sat 7 Mar -> anchored at Mon 9 Mar 08:00; + 3 -> Thu 12 Mar 08:00.
    assert_utc(cal.add_working_days(ict(2026, 3, 7, 10, 0), 3), ict(2026, 3, 12, 8, 0))


def test_add_working_days_from_lunch_or_closing_time(cal: WorkingCalendar) -> None:
    # 12:30 -> anchored at 13:30 the same day; 17:00 is after work -> next day 08:00.
    assert_utc(cal.add_working_days(ict(2026, 3, 9, 12, 30), 1), ict(2026, 3, 10, 13, 30))
    assert_utc(cal.add_working_days(ict(2026, 3, 9, 17, 0), 1), ict(2026, 3, 11, 8, 0))


def test_next_working_day_start(cal: WorkingCalendar) -> None:
    assert_utc(cal.next_working_day_start(ict(2026, 3, 9, 7, 0)), ict(2026, 3, 9, 8, 0))
    assert_utc(cal.next_working_day_start(ict(2026, 3, 9, 9, 0)), ict(2026, 3, 10, 8, 0))
    assert_utc(cal.next_working_day_start(FRIDAY_1655), ict(2026, 3, 9, 8, 0))


def test_working_time_between_is_the_inverse_of_add_working_hours(
    cal: WorkingCalendar,
) -> None:
    end = cal.add_working_hours(FRIDAY_1655, 8)
    assert cal.working_time_between(FRIDAY_1655, end) == timedelta(hours=8)


# --- deadlines -----------------------------------------------------------------------------------


def test_hot_news_is_acknowledged_in_clock_hours_even_at_the_weekend(cal: WorkingCalendar) -> None:
    saturday_night = ict(2026, 3, 7, 23, 30)
    result = acknowledge_deadline(saturday_night, Urgency.HOT, Deadlines(), cal)
    assert_utc(result, ict(2026, 3, 8, 0, 30))


def test_a_normal_report_is_acknowledged_in_working_hours(cal: WorkingCalendar) -> None:
    result = acknowledge_deadline(FRIDAY_1655, Urgency.NORMAL, Deadlines(), cal)
    assert_utc(result, ict(2026, 3, 10, 8, 25))
    urgent = acknowledge_deadline(FRIDAY_1655, Urgency.URGENT, Deadlines(), cal)
    assert urgent == result


def test_answer_deadlines(cal: WorkingCalendar) -> None:
    monday_10 = ict(2026, 3, 9, 10, 0)
    deadlines = Deadlines()
    assert_utc(
        answer_deadline(monday_10, Urgency.NORMAL, False, deadlines, cal), ict(2026, 3, 12, 10, 0)
    )
    assert_utc(
        answer_deadline(monday_10, Urgency.URGENT, False, deadlines, cal), ict(2026, 3, 10, 10, 0)
    )
    assert_utc(
        answer_deadline(monday_10, Urgency.HOT, True, deadlines, cal), ict(2026, 3, 10, 10, 0)
    )
    # 10 working days from Mon 9 Mar = two working weeks -> Mon 23 Mar.
    assert_utc(
        answer_deadline(monday_10, Urgency.NORMAL, True, deadlines, cal), ict(2026, 3, 23, 10, 0)
    )
