"""Importing a corpus of real articles from JSONL or CSV, atomically."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction

from generator.text import first_sentence, word_count
from studies.models import Article, Corpus

REQUIRED = ("title", "body")
# Optional text fields kept as they are: where an article came from and its licence.
PROVENANCE = ("source", "url", "author", "license", "license_url", "attribution", "source_file")
RECOGNISED = {
    "id",
    "title",
    "subtitle",
    "subtitle_type",
    "body",
    "source",
    "url",
    "date",
    "author",
    "license",
    "license_url",
    "attribution",
    "word_count",
    "source_file",
}
MAX_ERRORS_SHOWN = 25
MAX_KEY_LENGTH = Article._meta.get_field("key").max_length


class CorpusImportError(Exception):
    """The file was refused; nothing was written. ``problems`` names file, line and field."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        shown = problems[:MAX_ERRORS_SHOWN]
        more = len(problems) - len(shown)
        text = "\n".join(shown) + (f"\n... and {more} more problems" if more > 0 else "")
        super().__init__(text)


@dataclass
class ImportResult:
    corpus: Corpus
    created: int
    unchanged: int
    warnings: list[str] = field(default_factory=list)


@dataclass
class ParsedArticle:
    line: int
    key: str
    fields: dict


def strip_leading(body: str, prefix: str) -> str | None:
    """Return ``body`` after ``prefix`` if it starts with it, comparing whitespace-normalised."""
    words_prefix = prefix.split()
    if not words_prefix:
        return None
    pos = 0
    for word in words_prefix:
        while pos < len(body) and body[pos].isspace():
            pos += 1
        if not body.startswith(word, pos):
            return None
        pos += len(word)
    if pos < len(body) and not body[pos].isspace():
        return None  # the prefix ended inside a word
    return body[pos:].lstrip()


def _parse_date(value: object) -> dt.date | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"expected a date like 2020-01-31, got {value!r}")
    text = value.strip()
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        raise ValueError(f"expected a date like 2020-01-31, got {value!r}") from None


def _no_constant(name: str) -> None:
    # NaN and Infinity are not JSON, and PostgreSQL refuses them in a jsonb column.
    raise ValueError(f"{name} is not a JSON value")


def _csv_records(text: str) -> Iterator[tuple[int, object]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        if reader.fieldnames is None:
            return
        for row in reader:
            if None in row:
                yield reader.line_num, ValueError("more values than the header has columns")
                continue
            yield reader.line_num, {k: (v if v != "" else None) for k, v in row.items()}
    except csv.Error as exc:
        # The csv module stops at a field over its size limit or a NUL byte; the rest of
        # the file cannot be read reliably after that, so this is the last record.
        yield reader.line_num or 1, ValueError(f"unreadable CSV: {exc}")


def _records(path: Path, text: str) -> Iterator[tuple[int, object]]:
    """Yield (line number, record) pairs; a record that cannot be parsed is an Exception."""
    if path.suffix.lower() == ".csv":
        yield from _csv_records(text)
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line, parse_constant=_no_constant)
        except json.JSONDecodeError as exc:
            yield number, ValueError(f"broken JSON: {exc.msg} at column {exc.colno}")
        except RecursionError:
            yield number, ValueError("JSON nested too deeply")
        except ValueError as exc:
            yield number, ValueError(f"broken JSON: {exc}")


def _decode(path: Path, raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise CorpusImportError(
            [f"{path}:{line}: not UTF-8 (byte 0x{raw[exc.start]:02x}); save the file as UTF-8"]
        ) from None


def corpus_file_parse(path: Path) -> tuple[list[ParsedArticle], list[str]]:
    """Read and validate every record; raise CorpusImportError listing every problem."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CorpusImportError([f"{path}: cannot read the file: {exc.strerror or exc}"]) from None
    if path.suffix.lower() not in {".jsonl", ".json", ".ndjson", ".csv"}:
        raise CorpusImportError([f"{path}: unknown format; use .jsonl or .csv"])
    text = _decode(path, raw)
    problems: list[str] = []
    parsed: list[ParsedArticle] = []
    seen: dict[str, int] = {}  # article id -> the line it was first on
    for line, record in _records(path, text):
        article, record_problems = _parse_record(record, path=path, line=line, seen=seen)
        problems += record_problems
        if article is not None:
            parsed.append(article)
    if not parsed and not problems:
        problems.append(f"{path}: no articles in the file")
    if problems:
        raise CorpusImportError(problems)
    extra_fields = {name for article in parsed for name in article.fields["metadata"]}
    warnings = []
    if extra_fields:
        warnings.append(
            f"{path}: fields kept as metadata (not recognised): {', '.join(sorted(extra_fields))}"
        )
    return parsed, warnings


def _parse_record(
    record: object, *, path: Path, line: int, seen: dict[str, int]
) -> tuple[ParsedArticle | None, list[str]]:
    """The record on ``line`` as an article, or None and what is wrong with it. A record
    that gets as far as its id is entered in ``seen``."""
    where = f"{path}:{line}"
    if isinstance(record, Exception):
        return None, [f"{where}: {record}"]
    if not isinstance(record, dict):
        return None, [f"{where}: expected a JSON object, got {type(record).__name__}"]
    problems, date = _field_problems(record, where)
    if problems:
        return None, problems
    title = record["title"].strip()
    body = record["body"].strip()
    key, problem = _record_key(record, title, body, seen)
    if problem:
        return None, [f"{where}: {problem}"]
    seen[key] = line
    subtitle = (record.get("subtitle") or "").strip()
    subtitle_type = (record.get("subtitle_type") or "").strip()
    if subtitle:
        rest = strip_leading(body, subtitle)
        shown_body = rest if rest else body
    else:
        subtitle, shown_body = first_sentence(body)
        subtitle_type = "first_sentence_of_body"
        if not shown_body:
            return None, [
                f"{where}: field 'body': no subtitle and only one sentence, so nothing "
                "would be left to show after the subtitle"
            ]
    fields = {
        "title": title,
        "subtitle": subtitle,
        "subtitle_type": subtitle_type,
        "body": body,
        "shown_body": shown_body,
        "date": date,
        "word_count": word_count(body),
        "metadata": {k: v for k, v in record.items() if k not in RECOGNISED},
        **{name: (record.get(name) or "").strip() for name in PROVENANCE},
    }
    fields["content_hash"] = _content_hash(fields)
    return ParsedArticle(line=line, key=key, fields=fields), []


def _field_problems(record: dict, where: str) -> tuple[list[str], dt.date | None]:
    """What is wrong with a record's fields (missing, not text, a bad date, a NUL
    character), and its date."""
    problems = []
    for name in REQUIRED:
        value = record.get(name)
        if value is None:
            problems.append(f"{where}: field '{name}' is missing")
        elif not isinstance(value, str):
            problems.append(f"{where}: field '{name}' must be text")
        elif not value.strip():
            problems.append(f"{where}: field '{name}' is empty")
    for name in ("subtitle", "subtitle_type", *PROVENANCE):
        value = record.get(name)
        if value is not None and not isinstance(value, str):
            problems.append(f"{where}: field '{name}' must be text, got {value!r}")
    date = None
    try:
        date = _parse_date(record.get("date"))
    except ValueError as exc:
        problems.append(f"{where}: field 'date': {exc}")
    for name, value in record.items():
        if isinstance(value, str) and "\x00" in value:
            problems.append(f"{where}: field '{name}' contains a NUL character")
    return problems, date


def _record_key(
    record: dict, title: str, body: str, seen: dict[str, int]
) -> tuple[str, str | None]:
    """The article's id (given, or made from its title and body) and a problem with it."""
    raw_id = record.get("id")
    if raw_id is not None and (isinstance(raw_id, bool) or not isinstance(raw_id, str | int)):
        return "", f"field 'id' must be text or a whole number, got {raw_id!r}"
    key = str(raw_id).strip() if raw_id not in (None, "") else ""
    if len(key) > MAX_KEY_LENGTH:
        return "", f"field 'id' is longer than {MAX_KEY_LENGTH} characters"
    if not key:
        key = "sha-" + hashlib.sha256(f"{title}\n{body}".encode()).hexdigest()[:12]
    if key in seen:
        return "", f"field 'id': duplicate id {key!r} (first on line {seen[key]})"
    return key, None


def _content_hash(fields: dict) -> str:
    canonical = json.dumps(
        {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in fields.items()},
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def corpus_import(*, path: Path | str, name: str, owner=None) -> ImportResult:
    """Import ``path`` into ``owner``'s corpus ``name`` (the operator's when ``owner`` is
    None): all or nothing, idempotent on re-import. Nobody imports into another's corpus."""
    path = Path(path)
    if not name or not name.strip():
        raise CorpusImportError(["corpus name is empty"])
    parsed, warnings = corpus_file_parse(path)
    with transaction.atomic():
        corpus, _ = Corpus.objects.get_or_create(name=name.strip(), owner=owner)
        existing = dict(
            Article.objects.filter(corpus=corpus, key__in=[p.key for p in parsed]).values_list(
                "key", "content_hash"
            )
        )
        problems = [
            f"{path}:{p.line}: field 'id': {p.key!r} is already in corpus {corpus.name!r} "
            "with different content; give changed articles new ids"
            for p in parsed
            if p.key in existing and existing[p.key] != p.fields["content_hash"]
        ]
        if problems:
            raise CorpusImportError(problems)
        new = [
            Article(
                corpus=corpus,
                key=p.key,
                source_file=p.fields.pop("source_file") or str(path),
                **p.fields,
            )
            for p in parsed
            if p.key not in existing
        ]
        Article.objects.bulk_create(new, batch_size=500)
    return ImportResult(
        corpus=corpus, created=len(new), unchanged=len(parsed) - len(new), warnings=warnings
    )
