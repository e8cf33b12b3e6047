"""Source builders: each real source layout read from a small original fixture.

Fixtures live in tests/fixtures/sources/ (original text written for these tests, in the exact
column layout of each real source). Malformed inputs are written into ``tmp_path`` by the test
that needs them, so the line each error must name is visible next to the assertion.
"""

from __future__ import annotations

import csv
import functools
import itertools
import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile

from s2sbench.builders import BuildContext, get_builder, iter_source_items, sniff_format
from s2sbench.builders.mmlu import subject_of
from s2sbench.builders.rows import SourceRow, peek_columns
from s2sbench.builders.table import parse_column_map
from s2sbench.errors import SourceError, SourceRowError
from s2sbench.items import Item
from s2sbench.profiles import load_profile

SOURCES = Path(__file__).parent / "fixtures" / "sources"
STORYCLOZE = SOURCES / "storycloze.csv"
STORYCLOZE_BOM_CRLF = SOURCES / "storycloze_bom_crlf.csv"
XSTORYCLOZE_ES = SOURCES / "xstorycloze_es.tsv"
CMMLU_DIR = SOURCES / "cmmlu"
MMLU_FILE = SOURCES / "mmlu" / "test" / "high_school_physics_test.csv"
ITEMS = SOURCES / "items.jsonl"
GENERIC_JSONL = SOURCES / "generic.jsonl"
GENERIC_CSV = SOURCES / "generic.csv"

STORYCLOZE_HEADER = (
    "InputStoryid,InputSentence1,InputSentence2,InputSentence3,InputSentence4,"
    "RandomFifthSentenceQuiz1,RandomFifthSentenceQuiz2,AnswerRightEnding"
)
XSTORYCLOZE_COLUMNS = [
    "story_id",
    "input_sentence_1",
    "input_sentence_2",
    "input_sentence_3",
    "input_sentence_4",
    "sentence_quiz1",
    "sentence_quiz2",
    "answer_right_ending",
]
CMMLU_HEADER = ",Question,A,B,C,D,Answer"


@functools.cache
def _profile(lang: str):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # no bundled profile for "es": the generic one, with a warning
        return load_profile(lang)


def ctx(lang: str = "en", **overrides) -> BuildContext:
    return BuildContext(lang=lang, profile=_profile(lang), **overrides)


def read(source, fmt: str | None, context: BuildContext | None = None) -> list:
    return list(iter_source_items(str(source), fmt, context or ctx()))


def items_only(entries: list) -> list[Item]:
    bad = [str(e) for e in entries if not isinstance(e, Item)]
    assert not bad, bad
    return entries


def assert_row_error(entry, file, line: int | None, field: str, problem: str) -> None:
    assert isinstance(entry, SourceRowError), f"expected a SourceRowError, got {entry!r}"
    where = f"{file}:{line}" if line is not None else f"{file}"
    assert str(entry).startswith(f"{where}: {field}: "), str(entry)
    assert (entry.file, entry.line, entry.field) == (str(file), line, field)
    assert problem in entry.problem, entry.problem


def write_lines(path: Path, *lines: str) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


# --- StoryCloze -------------------------------------------------------------------------------

STORYCLOZE_EXPECTED = [
    # (line, story_id, context, candidates, answer)
    (
        2,
        "3f1c9a52-7b0e-4d2a-9c61-0a8e5d2b7f41",
        "Mara planted tomato seeds in April. She watered them every morning before work. "
        "By July the vines were taller than the fence. Her neighbours kept asking for a share.",
        ["Mara gave a basket of tomatoes to each neighbour.", "Mara decided she had never liked gardening."],
        0,
    ),
    (
        3,
        "8a2d4e10-95c3-4b7f-8e12-6c4f0b9a3d55",
        "Theo missed the last bus home. It was cold, dark and starting to rain. "
        "He called his sister to ask for a ride. She said she was already in bed.",
        ["Theo stayed at the bus stop all summer.", "Theo sighed, then started the long walk home."],
        1,
    ),
    (
        4,
        "c7e5b1f8-2a64-4f3d-b0a9-91d6e2c48b07",
        "The class went to the science museum. A guide showed them a model of the moon.\n"
        "It was bigger than the bus they came in. Priya asked how far away the real moon was. "
        "The guide smiled at the question.",
        ["The guide refused to say anything at all.", "The guide explained it was about 384 thousand kilometres away."],
        1,
    ),
    (
        6,
        "5b9e0d37-c1a8-4e62-a7f4-3d2b8c6e1f90",
        "Omar bought a second-hand bicycle. The chain squeaked on every turn. "
        "He watched a video about bike repair. Then he oiled the chain carefully.",
        ["The squeak was gone the next morning.", "Omar sold the bicycle to a passing goose."],
        0,
    ),
]


def test_storycloze_fixture_gives_one_item_per_story_with_source_semantics():
    items = items_only(read(STORYCLOZE, None))

    assert len(items) == 4
    for index, (item, (line, story_id, context, candidates, answer)) in enumerate(zip(items, STORYCLOZE_EXPECTED)):
        assert item.id == f"sstorycloze-en-{index:06d}"
        assert (item.subset, item.lang) == ("sStoryCloze", "en")
        assert item.context == context
        assert item.candidates == candidates
        assert item.answer == answer
        assert item.source == {"name": "storycloze", "file": str(STORYCLOZE), "line": line, "row": index, "story_id": story_id}


def test_storycloze_keeps_quoted_comma_and_quoted_newline():
    items = items_only(read(STORYCLOZE, "storycloze"))

    assert "It was cold, dark and starting to rain." in items[1].context
    assert items[1].candidates[1] == "Theo sighed, then started the long walk home."
    assert "A guide showed them a model of the moon.\nIt was bigger than the bus they came in." in items[2].context
    # The record after the two-line one starts on line 6, not 5.
    assert [item.source["line"] for item in items] == [2, 3, 4, 6]


def test_storycloze_ids_are_unique_and_the_same_on_every_read_and_with_a_limit():
    first = [item.id for item in items_only(read(STORYCLOZE, None))]
    second = [item.id for item in items_only(read(STORYCLOZE, None))]
    limited = [item.id for item in itertools.islice(iter_source_items(str(STORYCLOZE), None, ctx()), 2)]

    assert len(set(first)) == len(first) == 4
    assert first == second
    assert limited == first[:2]


def test_subset_override_renames_subset_and_ids():
    items = items_only(read(STORYCLOZE, None, ctx(subset="myStories")))

    assert {item.subset for item in items} == {"myStories"}
    assert [item.id for item in items] == [f"mystories-en-{i:06d}" for i in range(4)]


def test_storycloze_bom_crlf_fixture_really_has_bom_and_only_crlf_line_endings():
    # Guards the committed bytes against an editor or git end-of-line conversion.
    data = STORYCLOZE_BOM_CRLF.read_bytes()

    assert data.startswith(b"\xef\xbb\xbfInputStoryid,")
    assert data.count(b"\n") == data.count(b"\r\n") == 6
    assert data[3:].replace(b"\r\n", b"\n") == STORYCLOZE.read_bytes()


def test_storycloze_bom_crlf_reads_the_same_stories_as_the_plain_file():
    plain = items_only(read(STORYCLOZE, None))
    crlf = items_only(read(STORYCLOZE_BOM_CRLF, None))  # sniffed: the BOM is not part of "InputStoryid"

    assert len(crlf) == len(plain) == 4
    for a, b in zip(plain, crlf):
        assert (b.id, b.subset, b.candidates, b.answer) == (a.id, a.subset, a.candidates, a.answer)
        assert b.source["story_id"] == a.source["story_id"]
        assert b.source["line"] == a.source["line"]
        assert b.context == a.context
    assert not any("\r" in c for item in crlf for c in item.candidates)
    assert not any("\r" in item.context for item in crlf)


def test_storycloze_crlf_newline_inside_quotes_reads_like_the_lf_file():
    plain = items_only(read(STORYCLOZE, None))
    crlf = items_only(read(STORYCLOZE_BOM_CRLF, None))

    assert crlf[2].context == plain[2].context
    assert "A guide showed them a model of the moon.\nIt was bigger" in crlf[2].context


def test_source_row_text_turns_crlf_inside_a_field_into_lf():
    row = SourceRow("x.csv", 2, (0,), {"a": "  one\r\ntwo\r\n", "b": "lone\rcr"})

    assert row.text("a") == "one\ntwo"
    assert row.text("b") == "lone\rcr"  # only CRLF pairs are line breaks to convert


def test_storycloze_header_missing_a_column_cannot_be_sniffed(tmp_path):
    path = write_lines(
        tmp_path / "no_sentence3.csv",
        STORYCLOZE_HEADER.replace("InputSentence3,", ""),
        "s1,One.,Two.,Four.,Good end.,Bad end.,1",
    )

    with pytest.raises(SourceError) as raised:
        read(path, None)

    assert str(raised.value).startswith(f"{path}: cannot tell the source format")
    assert "matching formats: none" in str(raised.value)
    assert "--format" in str(raised.value)


def test_storycloze_header_missing_a_column_with_explicit_format_reports_every_row(tmp_path):
    # Every row lacks the column, so every row is reported, each at its own line.
    path = write_lines(
        tmp_path / "no_sentence3.csv",
        STORYCLOZE_HEADER.replace("InputSentence3,", ""),
        "s1,One.,Two.,Four.,Good end.,Bad end.,1",
        "s2,Uno.,Dos.,Cuatro.,Good end.,Bad end.,2",
    )

    entries = read(path, "storycloze")

    assert len(entries) == 2
    assert_row_error(entries[0], path, 2, "InputSentence3", "missing column")
    assert_row_error(entries[1], path, 3, "InputSentence3", "missing column")


@pytest.mark.parametrize("empty", ["", "   "])
def test_storycloze_empty_sentence_is_a_row_error_and_other_rows_still_build(tmp_path, empty):
    path = write_lines(
        tmp_path / "empty.csv",
        STORYCLOZE_HEADER,
        "s1,One.,Two.,Three.,Four.,Good end.,Bad end.,1",
        f"s2,One.,{empty},Three.,Four.,Good end.,Bad end.,1",
        "s3,One.,Two.,Three.,Four.,Good end.,Bad end.,2",
    )

    entries = read(path, None)

    assert len(entries) == 3
    assert_row_error(entries[1], path, 3, "InputSentence2", "empty value")
    assert [e.id for e in (entries[0], entries[2])] == ["sstorycloze-en-000000", "sstorycloze-en-000002"]
    assert entries[2].answer == 1


@pytest.mark.parametrize("answer", ["3", "0", "A", ""])
def test_storycloze_answer_outside_1_or_2_is_a_row_error(tmp_path, answer):
    path = write_lines(
        tmp_path / "answer.csv",
        STORYCLOZE_HEADER,
        "s1,One.,Two.,Three.,Four.,Good end.,Bad end.,1",
        f"s2,One.,Two.,Three.,Four.,Good end.,Bad end.,{answer}",
    )

    entries = read(path, None)

    assert isinstance(entries[0], Item)
    if answer:
        assert_row_error(entries[1], path, 3, "AnswerRightEnding", f"answer {answer!r} out of range (expected one of 1, 2)")
    else:
        assert_row_error(entries[1], path, 3, "AnswerRightEnding", "empty value")


def test_storycloze_error_after_a_two_line_record_names_the_right_line(tmp_path):
    path = write_lines(
        tmp_path / "multiline.csv",
        STORYCLOZE_HEADER,
        's1,One.,"Two,\nand a half.",Three.,Four.,Good end.,Bad end.,1',  # lines 2-3
        "s2,One.,Two.,Three.,Four.,Good end.,Bad end.,3",  # line 4
    )

    entries = read(path, None)

    assert entries[0].context == "One. Two,\nand a half. Three. Four."
    assert_row_error(entries[1], path, 4, "AnswerRightEnding", "out of range")


def test_storycloze_undecodable_bytes_are_a_row_error_and_later_rows_keep_their_lines_and_ids(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes(
        (STORYCLOZE_HEADER + "\n").encode()
        + b"s1,One.,Two.,Three.,Four.,Good end.,Bad end.,1\n"
        + b"s2,Caf\xff.,Two.,Three.,Four.,Good end.,Bad end.,1\n"
        + b"s3,One.,Two.,Three.,Four.,Good end.,Other end.,2\n"
    )

    entries = read(path, None)

    assert len(entries) == 3
    assert_row_error(entries[1], path, 3, "encoding", "not UTF-8")
    assert "column 7" in entries[1].problem  # the \xff is the 7th byte of its line
    assert (entries[0].id, entries[0].source["line"]) == ("sstorycloze-en-000000", 2)
    assert (entries[2].id, entries[2].source["line"]) == ("sstorycloze-en-000002", 4)
    assert entries[2].candidates == ["Good end.", "Other end."]


def test_storycloze_row_with_extra_field_is_a_row_error(tmp_path):
    path = write_lines(
        tmp_path / "extra.csv",
        STORYCLOZE_HEADER,
        "s1,One.,Two.,Three.,Four.,Good end.,Bad end.,1,surplus",
        "s2,One.,Two.,Three.,Four.,Good end.,Bad end.,2",
    )

    entries = read(path, None)

    assert_row_error(entries[0], path, 2, "row", "has 9 fields, header has 8")
    assert isinstance(entries[1], Item) and entries[1].id == "sstorycloze-en-000001"


def test_storycloze_identical_endings_are_a_row_error(tmp_path):
    path = write_lines(
        tmp_path / "same.csv",
        STORYCLOZE_HEADER,
        "s1,One.,Two.,Three.,Four.,Same end.,Same end. ,1",
    )

    (entry,) = read(path, None)

    assert_row_error(entry, path, 2, "candidates", "two candidates have the same text")


# --- XStoryCloze ------------------------------------------------------------------------------

XSTORYCLOZE_ES_EXPECTED = [
    (
        "Lucía quería aprender a tocar la guitarra. Su abuelo le regaló una guitarra vieja. "
        "Practicó todas las tardes durante un mes. Al final pudo tocar una canción completa.",
        ["Lucía tocó la canción para su abuelo.", "Lucía tiró la guitarra al río sin motivo."],
        0,
    ),
    (
        "Andrés se despertó tarde el lunes. No encontró su camisa favorita, así que se puso otra. "
        "Corrió hasta la parada del autobús. El autobús ya se había ido.",
        ["Andrés celebró que llegaba temprano.", "Andrés tuvo que caminar hasta la oficina."],
        1,
    ),
    (
        "Carmen preparó una tarta de manzana. La dejó enfriar junto a la ventana. "
        "El perro del vecino olió la tarta. Cuando Carmen volvió, faltaba un trozo.",
        ["Carmen sospechó del perro del vecino.", "Carmen pensó que la tarta había volado sola a la luna."],
        0,
    ),
]


def test_xstorycloze_tsv_gives_items_in_the_language_subset():
    items = items_only(read(XSTORYCLOZE_ES, None, ctx("es")))

    assert len(items) == 3
    assert [item.id for item in items] == ["es-sstorycloze-es-000000", "es-sstorycloze-es-000001", "es-sstorycloze-es-000002"]
    assert {(item.subset, item.lang) for item in items} == {("es-sStoryCloze", "es")}
    assert [(item.context, item.candidates, item.answer) for item in items] == XSTORYCLOZE_ES_EXPECTED
    assert [item.source["line"] for item in items] == [2, 3, 4]
    assert items[0].source["story_id"] == "e4a7c2d9-1b35-4f80-9d6e-2c8b7a0f5e13"
    assert items[0].source["name"] == "xstorycloze"


def test_xstorycloze_answer_out_of_range_is_a_row_error(tmp_path):
    path = write_lines(
        tmp_path / "bad.tsv",
        "\t".join(XSTORYCLOZE_COLUMNS),
        "\t".join(["s1", "Uno.", "Dos.", "Tres.", "Cuatro.", "Bien.", "Mal.", "3"]),
    )

    (entry,) = read(path, None, ctx("es"))

    assert_row_error(entry, path, 2, "answer_right_ending", "answer '3' out of range")


def test_xstorycloze_tsv_is_unquoted_and_keeps_quote_characters_as_text(tmp_path):
    # XStoryCloze TSVs do not quote fields: a leading quote is part of the sentence.
    path = write_lines(
        tmp_path / "quotes.tsv",
        "\t".join(XSTORYCLOZE_COLUMNS),
        "\t".join(['s1', '"Hola", dijo Ana.', 'Dos.', 'Tres "tres".', '"Cuatro.', '"Bien."', 'Mal.', '1']),
        "\t".join(["s2", "Uno.", "Dos.", "Tres.", "Cuatro.", "Bien.", "Mal.", "2"]),
    )

    items = items_only(read(path, None, ctx("es")))

    assert len(items) == 2
    assert items[0].context == '"Hola", dijo Ana. Dos. Tres "tres". "Cuatro.'
    assert items[0].candidates == ['"Bien."', "Mal."]
    # An unbalanced quote does not swallow the following line.
    assert [item.source["line"] for item in items] == [2, 3]
    assert items[1].answer == 1


# --- Hub (hf://, a local dataset directory, offline) ----------------------------------------


@pytest.fixture
def offline_hub(tmp_path, monkeypatch):
    import datasets

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf-cache"))
    # datasets reads these when it is imported; it may already be imported in this process.
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True, raising=False)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_OFFLINE", True, raising=False)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "hf-cache", raising=False)
    return datasets


def write_parquet_dataset(datasets, directory: Path, rows: list[dict]) -> Path:
    directory.mkdir(parents=True)
    columns = {name: [row[name] for row in rows] for name in rows[0]}
    datasets.Dataset.from_dict(columns).to_parquet(str(directory / "test.parquet"))
    return directory


def xstorycloze_es_rows() -> list[dict]:
    with XSTORYCLOZE_ES.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    for row in rows:
        row["answer_right_ending"] = int(row["answer_right_ending"])  # the Hub release stores an int
    return rows


@pytest.mark.parametrize("fmt", ["xstorycloze", None])
def test_hub_local_parquet_dataset_reads_like_the_tsv(offline_hub, tmp_path, fmt):
    directory = write_parquet_dataset(offline_hub, tmp_path / "xstory_es", xstorycloze_es_rows())
    source = "hf://" + str(directory)

    items = items_only(read(source, fmt, ctx("es")))

    assert [(item.context, item.candidates, item.answer) for item in items] == XSTORYCLOZE_ES_EXPECTED
    assert [item.id for item in items] == [f"es-sstorycloze-es-{i:06d}" for i in range(3)]
    assert [item.source["file"] for item in items] == [f"{source}#row={i}" for i in range(3)]
    assert items[1].source == {
        "name": "xstorycloze",
        "file": f"{source}#row=1",  # the 0-based row index in the file name
        "row": 1,
        "story_id": "0b6f3e81-c2d4-4a97-8e5b-7d1a9c3f2e60",
    }  # no "line" for Hub rows


def test_hub_bad_row_is_a_row_error_naming_the_source_and_field(offline_hub, tmp_path):
    rows = xstorycloze_es_rows()
    rows[1]["answer_right_ending"] = 3
    directory = write_parquet_dataset(offline_hub, tmp_path / "bad_answer", rows)
    source = "hf://" + str(directory)

    entries = read(source, None, ctx("es"))

    assert [type(e).__name__ for e in entries] == ["Item", "SourceRowError", "Item"]
    assert_row_error(entries[1], f"{source}#row=1", None, "answer_right_ending", "answer '3' out of range")
    assert str(entries[1]).startswith(f"{source}#row=1: answer_right_ending: answer '3' out of range")


def test_hub_source_with_a_reader_only_format_is_refused(offline_hub, tmp_path):
    directory = write_parquet_dataset(offline_hub, tmp_path / "xstory_es", xstorycloze_es_rows())

    with pytest.raises(SourceError, match="reads files only"):
        read("hf://" + str(directory), "s2sbench")


def test_hub_source_that_cannot_be_loaded_is_a_source_error(offline_hub, tmp_path):
    with pytest.raises(SourceError, match="cannot load dataset"):
        read("hf://" + str(tmp_path / "no-such-dataset"), "xstorycloze")


# --- CMMLU ------------------------------------------------------------------------------------

CMMLU_EXPECTED = [
    # (id, file stem, line, question, options, answer); CMMLU_DIR holds test/, so ids carry "test-"
    ("scmmlu-zh-test-agronomy-000000", "agronomy", 2, "下列哪种作物最适合在酸性土壤中种植？", ["茶树", "甜菜", "棉花", "苜蓿"], 0),
    ("scmmlu-zh-test-agronomy-000001", "agronomy", 3, "水稻秧苗移栽前通常需要做什么？", ["晒干秧苗", "施足底肥", "剪掉全部根系", "浸泡盐水"], 1),
    ("scmmlu-zh-test-astronomy-000000", "astronomy", 2, "太阳系中体积最大的行星是哪一颗？", ["地球", "火星", "木星", "金星"], 2),
    ("scmmlu-zh-test-astronomy-000001", "astronomy", 3, "光年是什么单位？", ["时间单位", "质量单位", "亮度单位", "长度单位,表示光一年走过的距离"], 3),
    ("scmmlu-zh-test-astronomy-000002", "astronomy", 4, "月球绕地球公转一周大约需要多少天？", ["一天", "七天", "二十七天", "三百六十五天"], 2),
]


def test_cmmlu_directory_gives_items_through_the_zh_templates():
    items = items_only(read(CMMLU_DIR, None, ctx("zh")))

    assert len(items) == 5
    for item, (item_id, subject, line, question, options, answer) in zip(items, CMMLU_EXPECTED):
        assert item.id == item_id
        assert (item.subset, item.lang) == ("sCMMLU", "zh")
        assert item.context == question
        assert item.candidates == [f"答案是{option}。" for option in options]
        assert item.answer == answer
        assert item.source["subject"] == subject
        assert item.source["file"] == str(CMMLU_DIR / "test" / f"{subject}.csv")
        assert item.source["line"] == line


def test_cmmlu_test_directory_ids_carry_the_subject_without_the_split():
    items = items_only(read(CMMLU_DIR / "test", None, ctx("zh")))

    assert [item.id for item in items] == [
        "scmmlu-zh-agronomy-000000",
        "scmmlu-zh-agronomy-000001",
        "scmmlu-zh-astronomy-000000",
        "scmmlu-zh-astronomy-000001",
        "scmmlu-zh-astronomy-000002",
    ]
    assert [item.source["subject"] for item in items] == ["agronomy"] * 2 + ["astronomy"] * 3


def test_cmmlu_single_file_ids_have_no_subject_part():
    items = items_only(read(CMMLU_DIR / "test" / "astronomy.csv", None, ctx("zh")))

    assert [item.id for item in items] == ["scmmlu-zh-000000", "scmmlu-zh-000001", "scmmlu-zh-000002"]
    assert {item.source["subject"] for item in items} == {"astronomy"}


def test_cmmlu_ids_are_unique_and_stable_across_reads():
    first = [item.id for item in items_only(read(CMMLU_DIR, None, ctx("zh")))]
    second = [item.id for item in items_only(read(CMMLU_DIR, None, ctx("zh")))]

    assert first == second
    assert len(set(first)) == len(first)


def test_cmmlu_template_override_with_letter_and_option():
    items = items_only(read(CMMLU_DIR, "cmmlu", ctx("zh", template="{letter}. {option}")))

    assert items[0].candidates == ["A. 茶树", "B. 甜菜", "C. 棉花", "D. 苜蓿"]
    assert items[0].context == "下列哪种作物最适合在酸性土壤中种植？"


def test_template_override_may_repeat_the_question():
    items = items_only(read(CMMLU_DIR / "test" / "agronomy.csv", "cmmlu", ctx("zh", template="{question} {option}")))

    assert items[1].candidates[1] == "水稻秧苗移栽前通常需要做什么？ 施足底肥"


def test_template_with_unknown_placeholder_is_a_source_error():
    with pytest.raises(SourceError, match=r"--template '\{choice\}': \{choice\}: only \{option\}, \{letter\}, \{question\}"):
        read(CMMLU_DIR, "cmmlu", ctx("zh", template="{choice}"))


@pytest.mark.parametrize("answer", ["E", "a", "1"])
def test_cmmlu_answer_not_a_to_d_is_a_row_error(tmp_path, answer):
    path = write_lines(
        tmp_path / "bad.csv",
        CMMLU_HEADER,
        "0,问题一？,甲,乙,丙,丁,A",
        f"1,问题二？,甲,乙,丙,丁,{answer}",
    )

    entries = read(path, None, ctx("zh"))

    assert isinstance(entries[0], Item)
    assert_row_error(entries[1], path, 3, "Answer", f"answer {answer!r} out of range (expected one of A, B, C, D)")


def test_cmmlu_empty_option_is_a_row_error(tmp_path):
    path = write_lines(tmp_path / "bad.csv", CMMLU_HEADER, "0,问题一？,甲,,丙,丁,A")

    (entry,) = read(path, None, ctx("zh"))

    assert_row_error(entry, path, 2, "B", "empty value")


def test_cmmlu_directory_with_dev_and_test_subfolders_gives_unique_ids(tmp_path):
    for split, question in (("dev", "开发集问题？"), ("test", "测试集问题？")):
        (tmp_path / split).mkdir()
        write_lines(tmp_path / split / "agronomy.csv", CMMLU_HEADER, f"0,{question},甲,乙,丙,丁,A")

    items = items_only(read(tmp_path, None, ctx("zh")))

    assert len(items) == 2
    assert [item.id for item in items] == ["scmmlu-zh-dev-agronomy-000000", "scmmlu-zh-test-agronomy-000000"]
    assert [item.context for item in items] == ["开发集问题？", "测试集问题？"]
    assert {item.source["subject"] for item in items} == {"agronomy"}


# --- MMLU -------------------------------------------------------------------------------------

MMLU_EXPECTED = [
    (
        "A ball is dropped from rest. Ignoring air resistance, what is its speed after 2 s?",
        ["about 5 m/s", "about 10 m/s", "about 20 m/s", "about 40 m/s"],
        2,
    ),
    (
        "Which quantity is conserved in every collision between two isolated objects?",
        ["total momentum", "total kinetic energy", "the speed of each object", "the temperature of each object"],
        0,
    ),
    ("A resistor carries 2 A with 6 V across it. What is its resistance, in ohms?", ["12", "8", "4", "3"], 3),
]


def test_mmlu_headerless_file_gives_items_through_the_en_templates():
    items = items_only(read(MMLU_FILE, "mmlu"))

    assert len(items) == 3
    assert [item.id for item in items] == ["smmlu-en-000000", "smmlu-en-000001", "smmlu-en-000002"]
    for item, (question, options, answer) in zip(items, MMLU_EXPECTED):
        assert (item.subset, item.lang) == ("sMMLU", "en")
        assert item.context == question
        assert item.candidates == [f"The answer is {option}." for option in options]
        assert item.answer == answer
        assert item.source["subject"] == "high_school_physics"
    # No header: the first question is on line 1.
    assert [item.source["line"] for item in items] == [1, 2, 3]


def test_mmlu_directory_ids_carry_the_file_path_relative_to_the_directory():
    items = items_only(read(MMLU_FILE.parent, "mmlu"))

    assert [item.id for item in items] == [f"smmlu-en-high-school-physics-test-{i:06d}" for i in range(3)]
    assert {item.source["subject"] for item in items} == {"high_school_physics"}


def test_mmlu_parent_directory_ids_carry_the_split_folder():
    items = items_only(read(MMLU_FILE.parent.parent, "mmlu"))

    assert [item.id for item in items] == [f"smmlu-en-test-high-school-physics-test-{i:06d}" for i in range(3)]
    assert {item.source["subject"] for item in items} == {"high_school_physics"}


def test_mmlu_template_override():
    items = items_only(read(MMLU_FILE, "mmlu", ctx(template="{letter}) {option}")))

    assert items[2].candidates == ["A) 12", "B) 8", "C) 4", "D) 3"]


@pytest.mark.parametrize(
    ("file", "subject"),
    [
        ("data/test/high_school_physics_test.csv", "high_school_physics"),
        ("abstract_algebra_dev.csv", "abstract_algebra"),
        ("college_medicine_val.csv", "college_medicine"),
        ("test_taking_test.csv", "test_taking"),
    ],
)
def test_mmlu_subject_is_the_file_name_without_its_split(file, subject):
    assert subject_of(file) == subject


def test_mmlu_headerless_file_cannot_be_sniffed_and_the_error_says_format():
    with pytest.raises(SourceError) as raised:
        read(MMLU_FILE, None)

    message = str(raised.value)
    assert message.startswith(f"{MMLU_FILE}: cannot tell the source format")
    assert "--format" in message and "mmlu" in message


def test_mmlu_short_row_is_a_row_error(tmp_path):
    path = write_lines(
        tmp_path / "astronomy_test.csv",
        "Which planet is largest?,Mars,Jupiter,Venus,Earth,B",
        "Which planet is red?,Mars,Jupiter,Venus,A",
    )

    entries = read(path, "mmlu")

    assert isinstance(entries[0], Item) and entries[0].answer == 1
    assert_row_error(entries[1], path, 2, "row", "has 5 fields, header has 6")


# --- Sniffing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "lang", "name"),
    [
        (STORYCLOZE, "en", "storycloze"),
        (STORYCLOZE_BOM_CRLF, "en", "storycloze"),
        (XSTORYCLOZE_ES, "es", "xstorycloze"),
        (CMMLU_DIR, "zh", "cmmlu"),
        (CMMLU_DIR / "test" / "agronomy.csv", "zh", "cmmlu"),
        (ITEMS, "en", "items"),
    ],
    ids=["storycloze", "storycloze-bom-crlf", "xstorycloze", "cmmlu-dir", "cmmlu-file", "items"],
)
def test_format_is_sniffed_from_the_columns(source, lang, name):
    entries = items_only(read(source, None, ctx(lang)))

    assert entries
    assert {item.source["name"] for item in entries} == {name}
    assert sniff_format(peek_columns(source), str(source)).name == name


def test_sniff_with_no_header_is_a_source_error_asking_for_format():
    with pytest.raises(SourceError, match=r"no header; matching formats: none\); pass --format"):
        sniff_format([], "empty.csv")


def test_sniff_ignores_extra_columns():
    assert sniff_format([*STORYCLOZE_HEADER.split(","), "Notes"], "x.csv").name == "storycloze"


@pytest.mark.parametrize("source", [GENERIC_CSV, GENERIC_JSONL], ids=["csv", "jsonl"])
def test_generic_tables_are_never_sniffed(source):
    with pytest.raises(SourceError, match="--format"):
        read(source, None)


def test_unknown_format_and_missing_path_are_source_errors(tmp_path):
    with pytest.raises(SourceError, match="unknown format 'nope'"):
        get_builder("nope")
    with pytest.raises(SourceError, match="no such file or directory"):
        read(tmp_path / "absent.csv", "storycloze")


# --- s2sbench items format ---------------------------------------------------------------------


def test_items_jsonl_keeps_subset_and_id_fields():
    items = items_only(read(ITEMS, None))

    assert [item.id for item in items] == ["items-en-000000", "weather-en-000001", "my-own-id"]
    assert [item.subset for item in items] == ["items", "weather", "items"]
    assert [item.answer for item in items] == [0, 1, 0]
    assert items[1].candidates == ["The streets stayed perfectly dry.", "Puddles formed along the road."]
    assert [item.source["line"] for item in items] == [1, 2, 3]


def test_jsonl_line_that_is_not_json_is_a_row_error_and_later_ids_keep_their_index(tmp_path):
    good = {"context": "A door creaked.", "candidates": ["Someone came in.", "The moon sang."], "answer": 0}
    path = tmp_path / "items.jsonl"
    path.write_text(
        json.dumps(good) + "\n" + '{"context": "broken", "candidates": [\n' + "\n" + json.dumps(good | {"answer": 1}) + "\n",
        encoding="utf-8",
    )

    entries = read(path, None)

    assert len(entries) == 3
    assert_row_error(entries[1], path, 2, "json", "not valid JSON")
    assert (entries[2].id, entries[2].source["line"], entries[2].answer) == ("items-en-000002", 4, 1)


def test_jsonl_line_that_is_not_an_object_is_a_row_error(tmp_path):
    path = write_lines(tmp_path / "items.jsonl", '{"context": "c", "candidates": ["a", "b"], "answer": 0}', '["a", "b"]')

    entries = read(path, "items")

    assert_row_error(entries[1], path, 2, "json", "expected an object")


def test_jsonl_undecodable_bytes_are_a_row_error(tmp_path):
    path = tmp_path / "items.jsonl"
    path.write_bytes(b'{"context": "c", "candidates": ["a", "b"], "answer": 0}\n{"context": "\xff"}\n')

    entries = read(path, "items")

    assert isinstance(entries[0], Item)
    assert_row_error(entries[1], path, 2, "encoding", "not UTF-8")


@pytest.mark.parametrize(
    ("record", "field", "problem"),
    [
        ({"context": "c", "candidates": ["a", "b"], "answer": 2}, "answer", "answer 2 out of range (expected 0..1)"),
        ({"context": "c", "candidates": ["a", "b"], "answer": True}, "answer", "answer True out of range"),
        ({"context": "c", "candidates": ["a", "b"], "answer": "0"}, "answer", "answer '0' out of range"),
        ({"context": "c", "candidates": ["a"], "answer": 0}, "candidates", "at least two"),
        ({"context": "c", "candidates": ["a", " "], "answer": 0}, "candidates", "empty value"),
        ({"context": " ", "candidates": ["a", "b"], "answer": 0}, "context", "empty value"),
    ],
)
def test_items_bad_record_is_a_row_error(tmp_path, record, field, problem):
    path = write_lines(tmp_path / "items.jsonl", json.dumps(record))

    (entry,) = read(path, "items")

    assert_row_error(entry, path, 1, field, problem)


# --- Original S2SBench release --------------------------------------------------------------


def write_wav(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tone = (0.1 * np.sin(2 * np.pi * 440 * np.arange(800) / 16000)).astype("float32")
    soundfile.write(str(path), tone, 16000)


@pytest.fixture
def release(tmp_path) -> Path:
    """A copy of the release fixture with a short wav for every uttid (wavs are never committed)."""
    root = tmp_path / "release"
    shutil.copytree(SOURCES / "s2sbench", root)
    for jsonl, folder in (("StoryCloze/sStory_s2t.jsonl", "StoryCloze/s-story-firstspeech"), ("cmmlu/cmmlu_rewrite_4.jsonl", "cmmlu/cmmlu_rewrite")):
        for line in (root / "S2S" / jsonl).read_text(encoding="utf-8").splitlines():
            write_wav(root / "S2S" / folder / f"{json.loads(line)['uttid']}.wav")
    return root


def story_release(tmp_path: Path, rows: list[dict], wavs: bool = True) -> Path:
    path = tmp_path / "S2S" / "StoryCloze" / "sStory_s2t.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    (path.parent / "s-story-firstspeech").mkdir()
    if wavs:
        for row in rows:
            write_wav(path.parent / "s-story-firstspeech" / f"{row.get('uttid')}.wav")
    return path


def story_rows(*uttids, story_of=lambda n: f"Story {n // 2}.") -> list[dict]:
    return [{"uttid": u, "first": story_of(int(str(u))), "last": f"Ending {u}."} for u in uttids]


def test_release_story_pairs_become_two_candidate_items_with_the_original_wav(release):
    path = release / "S2S" / "StoryCloze" / "sStory_s2t.jsonl"

    items = items_only(read(path, None))  # sniffed as s2sbench

    assert len(items) == 2
    nina, sam = items
    assert [nina.id, sam.id] == ["sstorycloze-en-001000", "sstorycloze-en-001002"]
    assert {item.subset for item in items} == {"sStoryCloze"}
    assert nina.context.startswith("Nina could not find her keys.")
    # The lower uttid (1000, second in the file) holds the plausible ending, listed first.
    assert nina.candidates == ["He was holding the keys in his hand.", "Nina decided to sleep in the garden forever."]
    assert sam.candidates == ["Sam shared warm bread with his friends.", "Sam painted the bread blue and mailed it."]
    assert [item.answer for item in items] == [0, 0]
    assert nina.source["uttids"] == ["1000", "1001"]
    assert nina.source["line"] == 2
    assert nina.source["name"] == "s2sbench"
    assert nina.source["context_wav"] == str(path.parent / "s-story-firstspeech" / "1000.wav")
    assert sam.source["context_wav"] == str(path.parent / "s-story-firstspeech" / "1002.wav")
    assert all(Path(item.source["context_wav"]).is_file() for item in items)


def test_release_cmmlu_rows_become_four_option_items_with_the_original_wav(release):
    path = release / "S2S" / "cmmlu" / "cmmlu_rewrite_4.jsonl"

    items = items_only(read(path, None, ctx("zh")))

    assert [item.id for item in items] == ["scmmlu-zh-000007", "scmmlu-zh-000008", "scmmlu-zh-000009"]
    assert {item.subset for item in items} == {"sCMMLU"}
    assert items[0].context == "中国面积最大的省级行政区是"
    assert items[0].candidates == ["西藏", "新疆", "青海", "内蒙古"]  # the release's rewritten options, as they are
    assert [item.answer for item in items] == [1, 2, 0]
    assert [item.source["uttid"] for item in items] == ["7", "8", "9"]
    for item in items:
        assert item.source["context_wav"] == str(path.parent / "cmmlu_rewrite" / f"{item.source['uttid']}.wav")
        assert Path(item.source["context_wav"]).is_file()


def test_release_subset_override(release):
    items = items_only(read(release / "S2S" / "cmmlu" / "cmmlu_rewrite_4.jsonl", "s2sbench", ctx("zh", subset="mine")))

    assert [item.id for item in items] == ["mine-zh-000007", "mine-zh-000008", "mine-zh-000009"]


def test_release_story_ids_are_stable_across_reads(release):
    path = release / "S2S" / "StoryCloze" / "sStory_s2t.jsonl"

    assert [i.id for i in items_only(read(path, None))] == [i.id for i in items_only(read(path, None))]


def test_release_integer_uttids_work(tmp_path):
    path = story_release(tmp_path, story_rows(10, 11))

    (item,) = items_only(read(path, "s2sbench"))

    assert item.id == "sstorycloze-en-000010"
    assert item.candidates == ["Ending 10.", "Ending 11."]
    assert item.source["context_wav"].endswith("s-story-firstspeech/10.wav")


def test_release_story_pair_with_non_consecutive_uttids_is_a_row_error(tmp_path):
    path = story_release(tmp_path, story_rows("1000", "1001", "1002", "1004"))

    entries = read(path, None)

    # 1002 has no 1003 and 1004 has no 1005: each lone row is its own error.
    assert len(entries) == 3
    assert isinstance(entries[0], Item) and entries[0].id == "sstorycloze-en-001000"
    assert_row_error(entries[1], path, 3, "uttid", "story row 1002 has no pair (no uttid 1003)")
    assert_row_error(entries[2], path, 4, "uttid", "story row 1004 has no pair (no uttid 1005)")


def test_release_story_pair_with_different_stories_is_a_row_error(tmp_path):
    rows = story_rows("1000", "1001")
    rows[1]["first"] = "A different story."
    path = story_release(tmp_path, rows)

    (entry,) = read(path, None)

    assert_row_error(entry, path, 2, "first", "differs from the story of uttid 1000")


def test_release_story_row_without_its_pair_is_a_row_error(tmp_path):
    path = story_release(tmp_path, story_rows("1000", "1001", "1002"))

    entries = read(path, None)

    assert len(entries) == 2
    assert isinstance(entries[0], Item) and entries[0].id == "sstorycloze-en-001000"
    assert_row_error(entries[1], path, 3, "uttid", "story row 1002 has no pair (no uttid 1003)")


def test_release_one_missing_story_row_does_not_lose_the_following_stories(tmp_path):
    # 1001 is missing: 1000 has no pair, but 1002/1003 and 1004/1005 are whole stories.
    path = story_release(tmp_path, story_rows("1000", "1002", "1003", "1004", "1005"))

    entries = read(path, None)

    assert len(entries) == 3
    assert_row_error(entries[0], path, 1, "uttid", "story row 1000 has no pair (no uttid 1001)")
    assert [e.id for e in entries[1:]] == ["sstorycloze-en-001002", "sstorycloze-en-001004"]
    assert [e.source["uttids"] for e in entries[1:]] == [["1002", "1003"], ["1004", "1005"]]
    assert [e.candidates for e in entries[1:]] == [["Ending 1002.", "Ending 1003."], ["Ending 1004.", "Ending 1005."]]


def test_release_missing_wav_is_a_row_error(tmp_path):
    path = story_release(tmp_path, story_rows("1000", "1001", "1002", "1003"))
    (path.parent / "s-story-firstspeech" / "1002.wav").unlink()

    entries = read(path, None)

    assert isinstance(entries[0], Item)
    assert_row_error(entries[1], path, 3, "uttid", "no wav")


def test_release_without_its_wav_folder_is_a_source_error(tmp_path):
    path = story_release(tmp_path, story_rows("1000", "1001"))
    shutil.rmtree(path.parent / "s-story-firstspeech")

    with pytest.raises(SourceError, match="wav folder .*s-story-firstspeech not found"):
        read(path, None)


def test_release_directory_is_a_source_error_listing_the_jsonl_files(release):
    with pytest.raises(SourceError, match="give one release jsonl file: .*sStory_s2t.jsonl"):
        read(release / "S2S", "s2sbench")


def test_release_question_with_bad_answer_letter_is_a_row_error(release):
    path = release / "S2S" / "cmmlu" / "cmmlu_rewrite_4.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[1] = lines[1].replace('"answer": "C"', '"answer": "E"')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    entries = read(path, None, ctx("zh"))

    assert [type(e).__name__ for e in entries] == ["Item", "SourceRowError", "Item"]
    assert_row_error(entries[1], path, 2, "answer", "answer 'E' out of range")


def test_release_story_row_with_non_numeric_uttid_is_yielded_as_a_row_error(tmp_path):
    rows = story_rows("1000", "1001") + [{"uttid": "intro", "first": "Story x.", "last": "Ending x."}]
    path = story_release(tmp_path, rows)

    entries = read(path, None)  # the read goes on past the bad row

    assert len(entries) == 2
    (error,) = [e for e in entries if not isinstance(e, Item)]
    (item,) = [e for e in entries if isinstance(e, Item)]
    assert_row_error(error, path, 3, "uttid", "'intro' does not start with a number")
    assert item.id == "sstorycloze-en-001000"


@pytest.mark.parametrize(
    ("bad", "problem"),
    [({}, "missing column"), ({"uttid": None}, "empty value"), ({"uttid": " "}, "empty value")],
    ids=["missing", "null", "blank"],
)
def test_release_story_row_without_uttid_is_yielded_as_a_row_error(tmp_path, bad, problem):
    rows = story_rows("1000", "1001") + [{"first": "Story x.", "last": "Ending x.", **bad}] + story_rows("1002", "1003")
    path = story_release(tmp_path, rows, wavs=False)
    for uttid in ("1000", "1001", "1002", "1003"):
        write_wav(path.parent / "s-story-firstspeech" / f"{uttid}.wav")

    entries = read(path, None)

    assert len(entries) == 3
    (error,) = [e for e in entries if not isinstance(e, Item)]
    assert_row_error(error, path, 3, "uttid", problem)
    assert [e.id for e in entries if isinstance(e, Item)] == ["sstorycloze-en-001000", "sstorycloze-en-001002"]


def test_release_question_row_without_uttid_is_a_row_error(release):
    path = release / "S2S" / "cmmlu" / "cmmlu_rewrite_4.jsonl"
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps({"first": "问题", "A": "甲", "B": "乙", "C": "丙", "D": "丁", "answer": "A"}, ensure_ascii=False) + "\n")

    entries = read(path, None, ctx("zh"))

    assert len(entries) == 4
    assert [type(e).__name__ for e in entries] == ["Item", "Item", "Item", "SourceRowError"]
    assert_row_error(entries[3], path, 4, "uttid", "missing column")


def test_release_file_is_sniffed(release):
    path = release / "S2S" / "cmmlu" / "cmmlu_rewrite_4.jsonl"

    assert sniff_format(peek_columns(path), str(path)).name == "s2sbench"
    assert {item.source["name"] for item in items_only(read(path, None, ctx("zh")))} == {"s2sbench"}


# --- Generic tables with --map ----------------------------------------------------------------

GENERIC_JSONL_EXPECTED = [
    ("Which animal says moo?", ["a cat", "a cow", "a duck"], 1),  # label 1: an index
    ("What colour is a clear daytime sky?", ["blue", "green", "purple"], 0),  # label "A": a letter
    ("How many legs does a spider have?", ["six", "four", "eight"], 2),  # label "eight": the text
]
GENERIC_CSV_EXPECTED = [
    ("Which month comes after March?", ["February", "April", "May"], 1),  # gold "1": an index
    ("What do bees make?", ["milk", "honey", "sand"], 1),  # gold "B": a letter
    ("Which is a fruit, not a vegetable?", ["carrot", "onion", "pear"], 2),  # gold "pear": the text
]


@pytest.mark.parametrize(
    ("source", "format", "spec", "expected", "lines"),
    [
        (GENERIC_JSONL, "jsonl", "context=prompt,candidates=endings,answer=label", GENERIC_JSONL_EXPECTED, [1, 2, 3]),
        (GENERIC_JSONL, "jsonl", "context=prompt,candidates=opt_a|opt_b|opt_c,answer=label", GENERIC_JSONL_EXPECTED, [1, 2, 3]),
        (GENERIC_CSV, "csv", "context=question,candidates=first|second|third,answer=gold", GENERIC_CSV_EXPECTED, [2, 3, 4]),
        (GENERIC_CSV, "csv", "context=question,candidates=choices,answer=gold", GENERIC_CSV_EXPECTED, [2, 3, 4]),
    ],
    ids=["jsonl-list-key", "jsonl-pipe-keys", "csv-pipe-columns", "csv-json-list-column"],
)
def test_a_generic_source_with_map_reads_index_letter_and_text_answers(source, format, spec, expected, lines):
    items = items_only(read(source, format, ctx(column_map=parse_column_map(spec))))

    assert [(i.context, i.candidates, i.answer) for i in items] == expected
    assert [i.id for i in items] == ["custom-en-000000", "custom-en-000001", "custom-en-000002"]
    assert {(i.subset, i.source["name"]) for i in items} == {("custom", format)}
    assert [i.source["line"] for i in items] == lines  # a CSV's line 1 is its header


def test_generic_csv_subset_and_id_columns_name_the_items():
    spec = "context=question,candidates=first|second|third,answer=gold,subset=topic,id=ref"

    items = items_only(read(GENERIC_CSV, "csv", ctx(column_map=parse_column_map(spec))))

    assert [i.subset for i in items] == ["calendar", "nature", "food"]
    assert [i.id for i in items] == ["calendar-en-cal-1", "nature-en-nat-1", "food-en-food-1"]


def test_generic_jsonl_id_column_with_subset_override():
    spec = "context=prompt,candidates=endings,answer=label,id=key"

    items = items_only(read(GENERIC_JSONL, "jsonl", ctx(subset="quiz", column_map=parse_column_map(spec))))

    assert [i.id for i in items] == ["quiz-en-farm-1", "quiz-en-sky-1", "quiz-en-bugs-1"]


def test_generic_table_without_map_is_a_source_error():
    with pytest.raises(SourceError, match="needs --map with context, candidates, answer"):
        read(GENERIC_CSV, "csv")


@pytest.mark.parametrize(
    ("label", "problem"),
    [
        ("maybe", "answer 'maybe' is not an index, a letter or a candidate's text"),
        (3, "answer '3' out of range (expected 0..2)"),
        ("D", "answer 'D' out of range (expected 0..2)"),
        (-1, "answer '-1' out of range"),
    ],
)
def test_generic_answer_that_names_no_candidate_is_a_row_error(tmp_path, label, problem):
    path = write_lines(tmp_path / "t.jsonl", json.dumps({"q": "Q?", "c": ["x", "y", "z"], "y": label}))

    (entry,) = read(path, "jsonl", ctx(column_map=parse_column_map("context=q,candidates=c,answer=y")))

    assert_row_error(entry, path, 1, "y", problem)


@pytest.mark.parametrize(
    ("record", "field", "problem"),
    [
        ({"q": "Q?", "c": ["x"], "y": 0}, "c", "two or more columns joined by | or a list"),
        ({"q": "Q?", "c": "[not json", "y": 0}, "c", "not a JSON list of candidates"),
        ({"q": "Q?", "c": ["x", "y"]}, "y", "missing column"),
        ({"c": ["x", "y"], "y": 0}, "q", "missing column"),
    ],
)
def test_generic_malformed_record_is_a_row_error(tmp_path, record, field, problem):
    path = write_lines(tmp_path / "t.jsonl", json.dumps(record))

    (entry,) = read(path, "jsonl", ctx(column_map=parse_column_map("context=q,candidates=c,answer=y")))

    assert_row_error(entry, path, 1, field, problem)


def test_parse_column_map():
    assert parse_column_map(" context=q , candidates=a|b,answer=y,") == {"context": "q", "candidates": "a|b", "answer": "y"}
    with pytest.raises(SourceError, match="'context' is not KEY=COLUMN"):
        parse_column_map("context,answer=y")
    with pytest.raises(SourceError, match="unknown key"):
        parse_column_map("context=q,label=y")


# --- Every builder: ids unique and stable ----------------------------------------------------


@pytest.mark.parametrize(
    ("source", "fmt", "lang", "overrides"),
    [
        (STORYCLOZE, None, "en", {}),
        (XSTORYCLOZE_ES, None, "es", {}),
        (CMMLU_DIR, None, "zh", {}),
        (MMLU_FILE.parent, "mmlu", "en", {}),
        (ITEMS, None, "en", {}),
        (GENERIC_CSV, "csv", "en", {"column_map": {"context": "question", "candidates": "choices", "answer": "gold"}}),
        (GENERIC_JSONL, "jsonl", "en", {"column_map": {"context": "prompt", "candidates": "endings", "answer": "label"}}),
    ],
    ids=["storycloze", "xstorycloze", "cmmlu", "mmlu", "items", "csv", "jsonl"],
)
def test_every_builder_gives_unique_ids_that_survive_a_second_read(source, fmt, lang, overrides):
    first = items_only(read(source, fmt, ctx(lang, **overrides)))
    second = items_only(read(source, fmt, ctx(lang, **overrides)))

    assert 2 <= len(first) <= 5
    assert len({item.id for item in first}) == len(first)
    assert [item.to_dict() for item in first] == [item.to_dict() for item in second]
