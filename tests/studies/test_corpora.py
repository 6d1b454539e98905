import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from generator.text import first_sentence
from studies.models import Article, Corpus
from studies.services.corpora import CorpusImportError, corpus_import, strip_leading


def write_jsonl(path, rows):
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


ROW = {
    "id": "a1",
    "title": "A title",
    "subtitle": "First sentence here.",
    "body": "First sentence here. Second sentence. Third one.",
}


def test_shared_corpus_imports_all_440(db, shared_corpus_path):
    result = corpus_import(path=shared_corpus_path, name="news")
    assert result.created == 440
    assert Article.objects.filter(corpus__name="news").count() == 440
    nasa = Article.objects.filter(key__startswith="nasa-").first()
    assert nasa.date is None  # unknown, never "recent"
    wn = Article.objects.get(key="wn-0002")
    assert wn.shown_body.startswith("The new members of the House")
    assert not wn.shown_body.startswith(wn.subtitle)
    assert wn.license and wn.attribution


def test_reimport_does_not_duplicate(db, shared_corpus_path):
    corpus_import(path=shared_corpus_path, name="news")
    again = corpus_import(path=shared_corpus_path, name="news")
    assert again.created == 0 and again.unchanged == 440
    assert Article.objects.count() == 440


def test_missing_subtitle_takes_first_sentence(db, tmp_path):
    row = {"title": "T", "body": "Mr. Smith went to Washington today. He spoke. Then left."}
    corpus_import(path=write_jsonl(tmp_path / "c.jsonl", [row]), name="c")
    a = Article.objects.get()
    assert a.subtitle == "Mr. Smith went to Washington today."
    assert a.shown_body == "He spoke. Then left."
    assert a.subtitle_type == "first_sentence_of_body"
    assert a.key.startswith("sha-")


def test_subtitle_removed_whitespace_normalised(db, tmp_path):
    row = dict(ROW, body="First   sentence\nhere.\n\nSecond sentence.")
    corpus_import(path=write_jsonl(tmp_path / "c.jsonl", [row]), name="c")
    assert Article.objects.get().shown_body == "Second sentence."


def test_subtitle_not_at_start_keeps_body(db, tmp_path):
    row = dict(ROW, subtitle="Something else entirely.")
    corpus_import(path=write_jsonl(tmp_path / "c.jsonl", [row]), name="c")
    assert Article.objects.get().shown_body == ROW["body"]


def test_unknown_fields_kept_as_metadata_with_warning(db, tmp_path):
    row = dict(ROW, section="politics", rating=4)
    result = corpus_import(path=write_jsonl(tmp_path / "c.jsonl", [row]), name="c")
    assert Article.objects.get().metadata == {"section": "politics", "rating": 4}
    assert any("rating, section" in w for w in result.warnings)


def test_csv_import(db, tmp_path):
    path = tmp_path / "c.csv"
    path.write_text(
        'id,title,body,date\nx1,"Hello, world","One. Two three.",2020-03-01\n', encoding="utf-8"
    )
    corpus_import(path=path, name="c")
    a = Article.objects.get()
    assert (a.key, a.title, str(a.date)) == ("x1", "Hello, world", "2020-03-01")


def test_markup_is_stored_as_text(db, tmp_path):
    row = dict(ROW, title="<script>alert(1)</script>")
    corpus_import(path=write_jsonl(tmp_path / "c.jsonl", [row]), name="c")
    assert Article.objects.get().title == "<script>alert(1)</script>"


@pytest.mark.parametrize(
    "content, expected",
    [
        (
            '{"id": "a", "title": "T", "body": "B. C."}\n{"id": "b", "title": "T"\n',
            ":2: broken JSON",
        ),
        ('{"id": "a", "body": "B. C."}\n', ":1: field 'title' is missing"),
        ('{"id": "a", "title": "  ", "body": "B. C."}\n', ":1: field 'title' is empty"),
        ('{"id": "a", "title": "T", "body": ""}\n', ":1: field 'body' is empty"),
        (
            '{"id": "a", "title": "T", "body": "B. C."}\n'
            '{"id": "a", "title": "U", "body": "D. E."}\n',
            ":2: field 'id': duplicate id 'a' (first on line 1)",
        ),
        ('{"id": "a", "title": "T", "body": "B. C.", "date": "yesterday"}\n', ":1: field 'date'"),
        ("[1, 2]\n", ":1: expected a JSON object"),
    ],
)
def test_bad_input_is_refused_with_location_and_nothing_written(db, tmp_path, content, expected):
    path = tmp_path / "bad.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(CorpusImportError) as info:
        corpus_import(path=path, name="c")
    assert f"{path}{expected}" in str(info.value)
    assert Article.objects.count() == 0 and Corpus.objects.count() == 0


def test_non_utf8_names_the_line(db, tmp_path):
    path = tmp_path / "latin.jsonl"
    path.write_bytes(b'{"title": "a", "body": "b. c."}\n{"title": "caf\xe9", "body": "b. c."}\n')
    with pytest.raises(CorpusImportError, match=r"latin.jsonl:2: not UTF-8"):
        corpus_import(path=path, name="c")
    assert Article.objects.count() == 0


def test_unreadable_file(db, tmp_path):
    with pytest.raises(CorpusImportError, match="cannot read the file"):
        corpus_import(path=tmp_path / "nope.jsonl", name="c")


def test_changed_article_with_same_id_refuses_whole_reimport(db, tmp_path):
    path = write_jsonl(tmp_path / "c.jsonl", [ROW, dict(ROW, id="a2")])
    corpus_import(path=path, name="c")
    write_jsonl(path, [dict(ROW, id="a3"), dict(ROW, title="Changed")])
    with pytest.raises(CorpusImportError, match="c.jsonl:2: field 'id': 'a1' is already"):
        corpus_import(path=path, name="c")
    assert sorted(Article.objects.values_list("key", flat=True)) == ["a1", "a2"]


def test_command_exits_non_zero_on_bad_input(db, tmp_path, capsys):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"title": "x"}\n', encoding="utf-8")
    with pytest.raises(CommandError, match="field 'body' is missing"):
        call_command("import_corpus", str(path), "--name", "c")


def test_command_reports_counts(db, tmp_path, capsys):
    call_command("import_corpus", str(write_jsonl(tmp_path / "c.jsonl", [ROW])), "--name", "c")
    assert "1 new" in capsys.readouterr().out


def test_text_helpers():
    assert first_sentence('He said "Go." Then he left.') == ('He said "Go."', "Then he left.")
    assert strip_leading("Alpha beta. Gamma.", "Alpha  beta.") == "Gamma."
    assert strip_leading("Alphabet soup.", "Alpha") is None
