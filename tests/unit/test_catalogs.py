"""The message catalogs: every language has vi's keys and placeholders, every key used exists."""

from __future__ import annotations

import ast
import re
import string
import unicodedata
from pathlib import Path

import pytest

from domain.people import Role
from domain.reports import ReportStatus, Urgency
from handlers.i18n import DEFAULT_LANGUAGE, Catalog, _load, available_languages
from handlers.intake_steps import FIELDS

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted((ROOT / "handlers").glob("*.py")) + sorted((ROOT / "bot").rglob("*.py"))
# t("key"), ctx.t("key"), catalog.t("key", ...), also split over lines; f-strings do not match.
T_CALL = re.compile(r"""\bt\(\s*(?P<quote>["'])(?P<key>[^"'{}]+)(?P=quote)""")

VI = _load(DEFAULT_LANGUAGE)
OTHER_LANGUAGES = [lang for lang in available_languages() if lang != DEFAULT_LANGUAGE]


def placeholders(text: str) -> set[tuple[str, str, str | None]]:
    """The {fields} of a format string: (name, format spec, conversion)."""
    return {
        (field, spec or "", conversion)
        for _, field, spec, conversion in string.Formatter().parse(text)
        if field is not None
    }


def literal_t_keys() -> dict[str, list[str]]:
    """Keys passed literally to a `t(...)` call, with where they are used."""
    found: dict[str, list[str]] = {}
    for path in SOURCES:
        source = path.read_text(encoding="utf-8")
        for match in T_CALL.finditer(source):
            line = source.count("\n", 0, match.start()) + 1
            found.setdefault(match["key"], []).append(f"{path.relative_to(ROOT)}:{line}")
    return found


def dotted_literals() -> dict[str, list[str]]:
    """Every string constant shaped like a catalog key ('<section>.<name>…') in the sources.

    Catches keys that reach `t()` through a variable, a conditional or a Step field
    (`help_key="intake.ward.help"`, `key = "help.member"`).
    """
    sections = "|".join(sorted({key.split(".", 1)[0] for key in VI}))
    shape = re.compile(rf"(?:{sections})(?:\.[a-z0-9_]+)+")
    found: dict[str, list[str]] = {}
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and shape.fullmatch(node.value)
            ):
                where = f"{path.relative_to(ROOT)}:{node.lineno}"
                found.setdefault(node.value, []).append(where)
    return found


# --- every catalog matches vi -----------------------------------------------------------------
def test_vietnamese_is_the_default_and_there_is_another_language() -> None:
    assert DEFAULT_LANGUAGE == "vi"
    assert "vi" in available_languages()
    assert OTHER_LANGUAGES, "expected at least one more catalog (en)"


@pytest.mark.parametrize("language", OTHER_LANGUAGES)
def test_catalog_has_exactly_the_keys_of_vi(language: str) -> None:
    keys = set(_load(language))
    assert sorted(set(VI) - keys) == [], f"{language}.yaml lacks these keys"
    assert sorted(keys - set(VI)) == [], f"{language}.yaml has keys vi.yaml does not"


@pytest.mark.parametrize("language", OTHER_LANGUAGES)
def test_catalog_has_the_placeholders_of_vi(language: str) -> None:
    messages = _load(language)
    different = {
        key: (sorted(placeholders(VI[key])), sorted(placeholders(messages[key])))
        for key in VI.keys() & messages.keys()
        if placeholders(VI[key]) != placeholders(messages[key])
    }
    assert different == {}


@pytest.mark.parametrize("language", available_languages())
def test_no_message_is_empty(language: str) -> None:
    empty = [key for key, text in _load(language).items() if not text.strip()]
    assert empty == []


def test_vietnamese_texts_are_nfc() -> None:
    not_nfc = [key for key, text in VI.items() if unicodedata.normalize("NFC", text) != text]
    assert not_nfc == []


def test_every_catalog_file_parses_into_texts_only() -> None:
    for language in available_languages():
        catalog = Catalog(language)
        assert catalog.keys() == set(_load(language))


# --- every key the code uses exists ------------------------------------------------------------
def test_the_scans_find_keys() -> None:
    # Guards the regex and the AST walk themselves: if they silently matched nothing, the tests
    # below would pass vacuously.
    assert "common.cancelled" in literal_t_keys()
    assert "intake.ward.help" in dotted_literals()  # a Step's help_key, never inside t(...)


def test_every_literal_t_key_exists_in_vi() -> None:
    missing = {key: where for key, where in literal_t_keys().items() if key not in VI}
    assert missing == {}


def test_every_key_shaped_string_in_the_code_exists_in_vi() -> None:
    missing = {key: where for key, where in dotted_literals().items() if key not in VI}
    assert missing == {}


@pytest.mark.parametrize("status", list(ReportStatus))
def test_every_report_status_has_a_label(status: ReportStatus) -> None:
    assert f"status.label.{status.value}" in VI


@pytest.mark.parametrize("role", list(Role))
def test_every_role_has_a_name(role: Role) -> None:
    assert f"role.{role.value}" in VI


@pytest.mark.parametrize("urgency", list(Urgency))
def test_every_urgency_has_a_label(urgency: Urgency) -> None:
    assert f"intake.urgency.{urgency.value}" in VI


@pytest.mark.parametrize("field", FIELDS)
def test_every_intake_field_has_a_title(field: str) -> None:
    # The edit menu and the resume question name the fields by `intake.<name>.title`.
    assert f"intake.{field}.title" in VI


@pytest.mark.parametrize("language", available_languages())
def test_every_message_formats_with_its_own_placeholders(language: str) -> None:
    """A message with a stray brace or a bad format spec would raise only when first shown."""
    catalog = Catalog(language)
    for key, text in _load(language).items():
        values: dict[str, object] = {
            name: 1.0 if spec else "x" for name, spec, _ in placeholders(text)
        }
        catalog.t(key, **values)


def test_a_catalog_can_be_split_into_parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import handlers.i18n as i18n

    (tmp_path / "xx.yaml").write_text("a:\n  b: một\n", encoding="utf-8")
    (tmp_path / "xx.extra.yaml").write_text("c: hai\n", encoding="utf-8")
    monkeypatch.setattr(i18n, "_LOCALES", tmp_path)
    i18n._load.cache_clear()
    try:
        assert i18n.available_languages() == ["xx"]
        assert i18n.Catalog("xx").keys() == {"a.b", "c"}
        (tmp_path / "xx.more.yaml").write_text("c: ba\n", encoding="utf-8")
        i18n._load.cache_clear()
        with pytest.raises(ValueError, match="repeats keys"):
            i18n.Catalog("xx")
    finally:
        i18n._load.cache_clear()
