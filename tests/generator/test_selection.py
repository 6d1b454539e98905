from generator import Candidate, SelectionSettings, rejection_reason, select_candidate, word_count

PROSE = (
    "The council met on Tuesday to discuss the budget. Members argued about road repairs "
    "and school funding for several hours. In the end a compromise was reached. "
)


def words(n: int) -> str:
    """n words of varied prose ending with a full stop."""
    out, i = [], 0
    base = PROSE.split()
    while len(out) < n:
        out.append(f"{base[i % len(base)]}{i // len(base)}")
        i += 1
    return " ".join(out) + "."


def cand(i, text):
    return Candidate("t", i, text, {"seed": i})


SETTINGS = SelectionSettings(candidates=5, target_words=20)


def test_each_rejection_rule():
    assert rejection_reason("", SETTINGS) == "empty"
    assert rejection_reason("   \n", SETTINGS) == "empty"
    assert rejection_reason(words(30) + "\nTitle: again", SETTINGS).startswith("prompt_echo")
    assert rejection_reason("Subtitle: x\n" + words(30), SETTINGS).startswith("prompt_echo")
    assert rejection_reason(words(9), SETTINGS).startswith("too_short: 9 words < 10")
    assert rejection_reason("spam spam spam spam " * 10, SETTINGS).startswith("repetition")
    assert rejection_reason(words(10), SETTINGS) is None


def test_thresholds_are_settings():
    loose = SelectionSettings(target_words=20, min_words_ratio=0.0, min_distinct_4gram=0.0)
    assert rejection_reason("spam " * 12, loose) is None
    assert rejection_reason(words(3), loose) is None


def test_picks_candidate_closest_to_human_length_and_cuts_both():
    human = " ".join(f"Sentence number {i} has five words." for i in range(10))  # 60 words
    cands = [cand(0, words(16)), cand(1, words(55)), cand(2, words(40)), cand(3, "")]
    result = select_candidate(cands, human_body=human, selection=SelectionSettings(target_words=30))
    assert result.chosen.candidate_index == 1
    assert result.rejections == {3: "empty"}
    assert result.max_words == 30
    assert word_count(result.human_text) <= 30 and word_count(result.machine_text) <= 30
    assert result.human_text.endswith("words.")
    assert result.failed_reason is None
    marks = {
        c.candidate_index: (c.provenance["chosen"], c.provenance["rejection"])
        for c in result.candidates
    }
    assert marks == {0: (False, None), 1: (True, None), 2: (False, None), 3: (False, "empty")}


def test_cut_length_limited_by_chosen_text():
    human = " ".join(f"Sentence number {i} has five words." for i in range(10))
    loose = SelectionSettings(candidates=5, target_words=20, min_length_ratio=0.0)
    result = select_candidate([cand(0, words(15))], human_body=human, selection=loose)
    assert result.max_words == 15
    assert word_count(result.human_text) <= 15


def test_ties_go_to_lowest_index():
    result = select_candidate(
        [cand(1, words(20)), cand(0, words(20))], human_body=words(20), selection=SETTINGS
    )
    assert result.chosen.candidate_index == 0


def test_all_rejected_is_failed_with_reasons():
    result = select_candidate(
        [cand(0, ""), cand(1, "Title: x")], human_body=words(20), selection=SETTINGS
    )
    assert result.chosen is None and result.machine_text == "" and result.human_text == ""
    assert "0: empty" in result.failed_reason and "1: prompt_echo" in result.failed_reason
    assert select_candidate([], human_body="x", selection=SETTINGS).failed_reason == "no candidates"


def test_match_rejects_a_candidate_with_too_few_sentences_for_the_human_paragraphs():
    human = "\n\n".join(f"Paragraph {i} has five words." for i in range(4))
    few = "One long sentence that goes on and on with many words and no stop at all here today."
    enough = " ".join(f"Sentence {i} is right here." for i in range(6))
    cands = [
        Candidate("a", 0, few, {}),
        Candidate("a", 1, enough, {}),
    ]
    settings = SelectionSettings(target_words=20, min_words_ratio=0.2, min_length_ratio=0.5)
    result = select_candidate(cands, human_body=human, selection=settings)
    assert result.rejections[0].startswith("paragraph_mismatch")
    assert result.chosen is not None and result.chosen.candidate_index == 1
    assert len(result.machine_text.split("\n\n")) == len(result.human_text.split("\n\n")) == 4
