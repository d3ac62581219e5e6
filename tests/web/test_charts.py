"""Profile charts: a histogram or the top values of a column, as bars ready for inline SVG."""

from __future__ import annotations

from bitgoeul.web.charts import MAX_BARS, profile_chart


def test_a_histogram_becomes_one_bar_per_bin_labelled_by_its_edges() -> None:
    chart = profile_chart({"histogram": {"edges": [0, 0.5, 1.0], "counts": [3, 6]}})
    assert chart is not None
    assert chart.kind == "histogram"
    assert [bar.label for bar in chart.bars] == ["0 – 0.5", "0.5 – 1"]
    assert chart.bars[1].width == chart.bar_area
    assert chart.bars[0].width == round(chart.bar_area / 2)


def test_top_values_are_charted_when_there_is_no_histogram() -> None:
    top = [[f"district-{i}", 20 - i] for i in range(20)]
    chart = profile_chart({"top": top})
    assert chart is not None
    assert chart.kind == "top"
    assert len(chart.bars) == MAX_BARS
    assert chart.height == MAX_BARS * 20


def test_long_labels_are_shortened_but_kept_whole_for_the_tooltip() -> None:
    chart = profile_chart({"top": [["광주광역시 북구 용봉동 전남대학교 병원 앞", 4]]})
    assert chart is not None
    assert chart.bars[0].label.endswith("…")
    assert chart.bars[0].full_label == "광주광역시 북구 용봉동 전남대학교 병원 앞"


def test_a_column_without_histogram_or_top_values_has_no_chart() -> None:
    assert profile_chart({"type": "string", "nulls": 0}) is None
    assert profile_chart({"histogram": {"edges": [], "counts": []}, "top": []}) is None
