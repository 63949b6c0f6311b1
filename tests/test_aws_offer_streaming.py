"""The fast paths of the AWS offer-file normaliser: the raw-line prefilter of the CSV (quoted or
not, fields running over several lines, a cut-off last line) and the JSON reader stopping after
the OnDemand terms."""

from __future__ import annotations

import csv
import io

import pytest
from servecost.errors import DataError
from servecost.providers import aws

from tests.perf import naive, offer_files

ORIGIN = "aws (test)"


@pytest.fixture(scope="module")
def quoted_csv(tmp_path_factory):
    return offer_files.write_csv(tmp_path_factory.mktemp("csv") / "offers.csv", 1_000_000)


@pytest.fixture(scope="module")
def expected(quoted_csv):
    rows = aws.normalise_csv(quoted_csv, origin=ORIGIN)
    assert len(rows) == 5 and rows == naive.normalise_csv(quoted_csv, origin=ORIGIN)
    return rows


def rewrite(source, target, edit=lambda number, row: row, quoting=csv.QUOTE_ALL):
    """Copy an offer CSV row by row (metadata and header included), editing data rows."""
    with source.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=quoting, lineterminator="\n")
    for number, row in enumerate(rows):
        writer.writerow(edit(number, row) if number > 5 else row)
    target.write_text(buffer.getvalue(), encoding="utf-8")
    return target


def test_unquoted_fields_fall_back_to_the_word_test(quoted_csv, expected, tmp_path):
    bare = rewrite(quoted_csv, tmp_path / "bare.csv", quoting=csv.QUOTE_MINIMAL)
    assert not bare.read_text().splitlines()[7].startswith('"')
    assert aws.normalise_csv(bare, origin=ORIGIN) == expected


def test_fields_running_over_several_lines(quoted_csv, expected, tmp_path):
    header = offer_files.CSV_HEADER
    description = header.index("PriceDescription")

    def edit(number, row):
        # a newline inside every description: kept OnDemand lines and skipped Reserved ones
        row = list(row)
        row[description] = row[description].replace(" ", "\n", 1)
        return row

    multi = rewrite(quoted_csv, tmp_path / "multi.csv", edit)
    assert multi.read_text().count("\n") > 1.9 * quoted_csv.read_text().count("\n")
    assert aws.normalise_csv(multi, origin=ORIGIN) == expected
    assert naive.normalise_csv(multi, origin=ORIGIN) == expected


def test_errors_name_the_physical_line_after_multi_line_records(quoted_csv, tmp_path):
    header = offer_files.CSV_HEADER
    description, price = header.index("PriceDescription"), header.index("PricePerUnit")
    sku = "S0000004004SYNTH"  # the fifth kept product, after 68 two-line records
    broken_row = {}

    def edit(number, row):
        row = list(row)
        row[description] = row[description].replace(" ", "\n", 1)
        if row[0] == sku and row[header.index("TermType")] == "OnDemand":
            broken_row["number"] = number
            row[price] = "n/a"
        return row

    broken = rewrite(quoted_csv, tmp_path / "broken.csv", edit)
    # the metadata and header take a line each (rows 0-5), every data row before it two
    line = 6 + 2 * (broken_row["number"] - 6) + 1
    assert broken_row["number"] == 6 + 4 * 17
    assert broken.read_text().splitlines()[line - 1].startswith(f'"{sku}"')
    with pytest.raises(DataError, match=rf"line {line} \(SKU {sku}\).*'n/a'"):
        aws.normalise_csv(broken, origin=ORIGIN)


def test_cut_off_last_line_is_an_error_even_when_it_could_not_be_kept(quoted_csv, tmp_path):
    text = quoted_csv.read_text()
    last = text.rstrip("\n").rsplit("\n", 1)[1]
    assert '"Reserved"' in last  # the prefilter would skip it
    cut = tmp_path / "cut.csv"
    cut.write_text(text[: text.rindex('","')])
    with pytest.raises(DataError, match=r"line \d+: \d+ fields, expected \d+ \(truncated file\?\)"):
        aws.normalise_csv(cut, origin=ORIGIN)


def test_json_stops_after_on_demand_but_a_cut_off_file_still_fails(tmp_path, expected):
    path = offer_files.write_json(tmp_path / "offers.json", 1_000_000)
    assert aws.normalise_json(path, origin=ORIGIN) == expected
    text = path.read_text()
    reserved = text.index('"Reserved"')
    cut = tmp_path / "cut.json"
    cut.write_text(text[: reserved + (len(text) - reserved) // 2])
    with pytest.raises(DataError, match="truncated JSON"):
        aws.normalise_json(cut, origin=ORIGIN)
