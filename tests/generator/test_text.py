from generator.text import (
    body_without_subtitle,
    cut_text,
    cut_to_sentences,
    distinct_ngram_ratio,
    first_sentence,
    split_sentences,
    truncate_at_next_article,
    word_count,
)


def test_word_count_counts_whitespace_separated_words():
    assert word_count("") == 0
    assert word_count("One, two.\n\nThree  four") == 4


def test_cut_keeps_longest_sentence_prefix_and_paragraphs():
    text = "One two three. Four five six.\n\nSeven eight. Nine ten eleven twelve."
    assert cut_to_sentences(text, 5) == "One two three."
    assert cut_to_sentences(text, 6) == "One two three. Four five six."
    assert cut_to_sentences(text, 8) == "One two three. Four five six.\n\nSeven eight."
    assert cut_to_sentences(text, 100) == text


def test_cut_never_exceeds_max_words():
    text = "A b c. D e f g? H i! J k l m n.\n\nO p q. R s t u v w."
    for n in range(0, 25):
        assert word_count(cut_to_sentences(text, n)) <= n


def test_cut_drops_unfinished_trailing_sentence():
    assert cut_to_sentences("Done here. And then the model ran out of", 50) == "Done here."


def test_cut_treats_paragraph_break_as_boundary():
    assert cut_to_sentences("A heading without period\n\nBody text. More", 10) == (
        "A heading without period\n\nBody text."
    )


def test_cut_falls_back_to_words_when_no_sentence_fits():
    cut = cut_text("one two three four five six.", 3)
    assert cut.text == "one two three" and cut.mode == "words" and cut.words == 3


def test_cut_zero_and_empty():
    assert cut_to_sentences("Some text.", 0) == ""
    assert cut_to_sentences("   ", 10) == ""


def test_sentences_respect_abbreviations_and_quotes():
    sentences = split_sentences(
        'Mr. Smith went to Washington D.C. on Monday. "It is done." Then U.S. troops left.'
    )
    assert sentences == [
        "Mr. Smith went to Washington D.C. on Monday.",
        '"It is done."',
        "Then U.S. troops left.",
    ]


def test_distinct_ngram_ratio():
    assert distinct_ngram_ratio("a b c") == 1.0
    assert distinct_ngram_ratio("the cat sat on the mat today") == 1.0
    assert distinct_ngram_ratio("go go go go go go go go") == 1 / 5


def test_truncate_at_next_article():
    assert truncate_at_next_article("Body text.\n\nTitle: Next one\nSubtitle: x") == (
        "Body text.",
        True,
    )
    assert truncate_at_next_article("No next article.") == ("No next article.", False)
    # A leading Title: line is left for the echo rule to reject.
    assert truncate_at_next_article("Title: echo\nmore") == ("Title: echo\nmore", False)


def test_body_without_subtitle():
    assert body_without_subtitle("First sentence. Second.\n\nThird.", "First sentence.") == (
        "Second.\n\nThird."
    )
    assert body_without_subtitle("Other start.", "First sentence.") == "Other start."


def test_first_sentence_uses_the_one_sentence_rule():
    # The corpus importer's subtitle: the same rule as every other sentence cut.
    assert first_sentence("Mr. Smith left at 5 p.m. on Friday.\n\nHe came back.") == (
        "Mr. Smith left at 5 p.m. on Friday.",
        "He came back.",
    )
    assert first_sentence("The U.S.S. Grayback sank. Divers found it.") == (
        "The U.S.S. Grayback sank.",
        "Divers found it.",
    )
    assert first_sentence("No sentence end here") == ("No sentence end here", "")
