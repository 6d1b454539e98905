"""The judge-facing wording that the design depends on, in every language judges may get.

The five-point scale is the paper's (Brown et al. 2020, Sec. 3.9.4): two answers leaning
human, a neutral "I don't know", two leaning machine, symmetric in strength. The
translations (``webapp/locale/<lang>/LC_MESSAGES/django.po``) keep that shape:

- the same verb for every option, so only the direction and the strength differ:
  zh-hans 撰写 ("written by"), es "escrito por", de "geschrieben von";
- strength in two steps that mirror each other: "very likely" / "more likely" as
  zh-hans 很可能 / 较可能, es "muy probablemente" / "más probablemente",
  de "sehr wahrscheinlich" / "eher";
- "a human" and "a machine" as plain nouns with no judgement: 人 / 机器, "una persona" /
  "una máquina", "einem Menschen" / "einer Maschine" (es avoids the gendered
  "un humano"; de "Mensch" is the neutral word);
- the neutral option as the judge's own "I don't know": 我不知道, "No lo sé",
  "Ich weiß es nicht".

Launch records the wording shown (``scale_wording``) in the frozen design record, so a
report can say exactly what judges read.
"""

from __future__ import annotations

from typing import Any

from django.utils import translation
from django.utils.translation import gettext_lazy as _

# Django's language codes; a spec may spell Simplified Chinese zh_Hans.
JUDGE_LANGUAGES = {
    "en": "English",
    "zh-hans": "简体中文",
    "es": "Español",
    "de": "Deutsch",
}

# The paper's five options, in its words, stored as 1..5.
RATING_CHOICES = [
    (1, _("very likely written by a human")),
    (2, _("more likely written by a human")),
    (3, _("I don't know")),
    (4, _("more likely written by a machine")),
    (5, _("very likely written by a machine")),
]
SIDE_CHOICES = [("left", _("Text A")), ("right", _("Text B"))]
CONFIDENCE_CHOICES = [
    (1, _("1 - just guessing")),
    (2, _("2")),
    (3, _("3")),
    (4, _("4")),
    (5, _("5 - certain")),
]

_CHECK_TITLE = _("Attention check")
_CHECK_SUBTITLE = _("This item checks that the instructions are being read.")


def scale_wording(language: str) -> dict[str, Any]:
    """The answer options exactly as judges in ``language`` read them."""
    with translation.override(language):
        return {
            "language": language,
            "rating": {str(value): str(label) for value, label in RATING_CHOICES},
            "sides": {value: str(label) for value, label in SIDE_CHOICES},
            "confidence": {str(value): str(label) for value, label in CONFIDENCE_CHOICES},
        }


def attention_checks(protocol: str, language: str) -> list[dict[str, Any]]:
    """The attention-check items in the judges' language (frozen into the lists at launch)."""
    with translation.override(language):
        labels = {value: str(label) for value, label in RATING_CHOICES}
        title, subtitle = str(_CHECK_TITLE), str(_CHECK_SUBTITLE)
        if protocol == "single":
            return [
                {
                    "title": title,
                    "subtitle": subtitle,
                    "body": translation.gettext(
                        "This is not a news article. To show that you read each item, please "
                        'answer "%(answer)s" for this one.'
                    )
                    % {"answer": labels[rating]},
                    "expected_rating": rating,
                }
                for rating in (1, 5)
            ]
        choose = translation.gettext(
            "This is not a news article. Please choose this text, on the %(side)s, and give "
            "confidence 5."
        )
        avoid = translation.gettext(
            "This is not a news article either. Please do not choose this one."
        )
        avoid_first = translation.gettext(
            "This is not a news article. Please do not choose this one."
        )
        choose_second = translation.gettext(
            "This is not a news article either. Please choose this text, on the %(side)s, and "
            "give confidence 5."
        )
        left, right = translation.gettext("left"), translation.gettext("right")
        return [
            {
                "title": title,
                "subtitle": subtitle,
                "left": choose % {"side": left},
                "right": avoid,
                "expected_choice": "left",
            },
            {
                "title": title,
                "subtitle": subtitle,
                "left": avoid_first,
                "right": choose_second % {"side": right},
                "expected_choice": "right",
            },
        ]
