"""The templates as data (rules/templates.toml → extractor/template.py)."""

import pytest

from extractor.template import row_identity, template


@pytest.mark.parametrize("name", ["2019", "2021"])
def test_table_3s_row_identity_is_t3_b(name):
    holds = row_identity(name, "t3")
    assert holds([1, 2, 3, 4, 5, 6, 21]) is True
    assert holds([1, 2, 3, 4, 5, 6, 20]) is False
    assert holds([1, None, 3, 4, 5, 6, 19]) is None  # a blank: nothing can be said


@pytest.mark.parametrize("name", ["2019", "2021"])
def test_table_4s_three_rows_on_one_line_keep_t4_each(name):
    holds = row_identity(name, "t4", 3)
    group = [1, 2, 0, 1, 4]
    assert holds(group * 3) is True
    assert holds(group * 2 + [1, 2, 0, 1, 5]) is False  # the third group's 总计 is off


def test_every_identity_is_over_the_tables_own_keys():
    for name in ("2019", "2021"):
        tpl = template(name)
        for eq in tpl.identities:
            assert set(eq.keys) <= set(tpl.tables[eq.table].keys), eq.name
            assert eq.each in ("row", "column")
