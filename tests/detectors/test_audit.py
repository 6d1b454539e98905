"""The tell audit on texts built here: a form difference is caught and named, identical form
sits at chance, and a difference in style alone never gates."""

import subprocess
import sys

import pytest

from detectors.audit import AuditText, auc_score, run_tell_audit

SENTENCES = [
    "The council met on a quiet evening to discuss the budget.",
    "Residents asked why the library would close early this winter.",
    "A spokesman said the plan was still under review by the board.",
    "Several shop owners worried about parking near the market square.",
    "The mayor promised an answer before the end of the month.",
    "Teachers at the school welcomed the news with some caution.",
    "Traffic on the bridge was slower than usual after the storm.",
    "Officials expect the repairs to take at least three weeks.",
]


def article(i: int, n: int = 4, start: int = 0) -> list[str]:
    return [SENTENCES[(start + i + k) % len(SENTENCES)] for k in range(n)]


def build(machine_layout, n_articles=10):
    texts = []
    for i in range(n_articles):
        human = article(i)
        texts.append(
            AuditText("c", f"a{i}", False, " ".join(human[:2]) + "\n\n" + " ".join(human[2:]))
        )
        texts.append(AuditText("c", f"a{i}", True, machine_layout(article(i, start=3))))
    return texts


def test_a_paragraph_difference_is_above_chance_and_named():
    audit = run_tell_audit(build(lambda s: " ".join(s)), n_boot=40)
    form = audit.conditions[0].groups["form"]
    assert form.auc == 1.0 and form.above_chance
    assert "paragraphs" in form.carriers
    assert audit.gated
    (finding,) = audit.findings()
    assert "paragraphs" in finding and "'c'" in finding
    out = audit.to_dict()
    assert out["gated"] and out["conditions"][0]["groups"]["form"]["carriers"]


def test_the_same_form_sits_at_chance_and_is_not_gated():
    # The machine texts are other sentences laid out exactly like the human ones.
    audit = run_tell_audit(build(lambda s: " ".join(s[:2]) + "\n\n" + " ".join(s[2:])), n_boot=40)
    form = audit.conditions[0].groups["form"]
    assert form.low <= 0.5 <= form.high
    assert not audit.gated and audit.findings() == []


def test_style_alone_is_reported_but_never_gates():
    def shouty(s):
        return " ".join(x.replace(".", "!").replace(" the ", ", the ") for x in s[:2]) + (
            "\n\n" + " ".join(x.replace(".", "!") for x in s[2:])
        )

    audit = run_tell_audit(build(shouty), n_boot=40)
    groups = audit.conditions[0].groups
    assert groups["style"].above_chance
    assert not groups["form"].above_chance and not audit.gated


def test_folds_hold_out_whole_articles():
    # Each article's two texts are copies: a model that saw one copy would score the other
    # perfectly; held out together, identical pairs can only tie.
    texts = [
        AuditText("c", f"a{i}", kind, "\n\n".join(["word " * (5 + 7 * i)] * (1 + i % 3)))
        for i in range(8)
        for kind in (False, True)
    ]
    form = run_tell_audit(texts, n_boot=20).conditions[0].groups["form"]
    assert form.auc == 0.5 and not form.above_chance


def test_too_few_articles_are_reported_not_gated():
    audit = run_tell_audit(build(lambda s: " ".join(s), n_articles=3), n_boot=10)
    condition = audit.conditions[0]
    assert condition.groups["form"].auc is None and "needs 4" in condition.note
    assert not audit.gated


def test_auc_counts_ties_half():
    import numpy as np

    assert auc_score(np.array([0, 1]), np.array([0.3, 0.3])) == 0.5
    assert auc_score(np.array([0, 0, 1, 1]), np.array([0.1, 0.2, 0.3, 0.4])) == 1.0


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="level"):
        run_tell_audit([], level=1.5)


def test_import_detectors_does_not_import_django():
    code = (
        "import sys, detectors.audit, detectors.features; "
        "print(any(m == 'django' or m.startswith('django.') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
