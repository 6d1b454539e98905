"""Ready-to-paste recruitment links for each platform (reads only)."""

from __future__ import annotations

from dataclasses import dataclass

from studies.models import Study

PROLIFIC_QUERY = (
    "PROLIFIC_PID={{%PROLIFIC_PID%}}&STUDY_ID={{%STUDY_ID%}}&SESSION_ID={{%SESSION_ID%}}"
)


@dataclass(frozen=True)
class RecruitmentLink:
    key: str  # a stable id for the page
    label: str
    value: str
    note: str


def recruitment_links(*, study: Study, origin: str) -> list[RecruitmentLink]:
    """What to paste into each platform: the study URL with the platform's placeholders,
    and the codes or URLs the study hands back for each ending. ``origin`` is
    ``scheme://host`` as the judges will reach the site."""
    base = f"{origin.rstrip('/')}/take/{study.slug}/"
    rec = study.spec.get("recruitment", {})
    links = [
        RecruitmentLink(
            "prolific",
            "Prolific study URL",
            f"{base}?{PROLIFIC_QUERY}",
            "Paste as the study link; Prolific fills in the three placeholders.",
        ),
        RecruitmentLink(
            "mturk",
            "MTurk ExternalQuestion",
            '<ExternalQuestion xmlns="http://mechanicalturk.amazonaws.com/'
            'AWSMechanicalTurkDataSchemas/2006-07-14/ExternalQuestion.xsd">'
            f"<ExternalURL>{base}</ExternalURL><FrameHeight>0</FrameHeight></ExternalQuestion>",
            "MTurk adds assignmentId, workerId, hitId and turkSubmitTo; the HIT is submitted "
            "for the worker at the end.",
        ),
        RecruitmentLink(
            "link", "Anonymous link", base, "Anyone with it can take part once per browser."
        ),
    ]
    endings = [
        ("completion", "Completed"),
        ("declined", "Declined consent"),
        ("attention_failed", "Failed an attention check"),
    ]
    for key, label in endings:
        code = rec.get(f"{key}_code", "")
        url = rec.get(f"{key}_url", "")
        if code:
            links.append(RecruitmentLink(f"{key}-code", f"{label}: code", code, ""))
        if url:
            links.append(RecruitmentLink(f"{key}-url", f"{label}: return URL", url, ""))
    platform = rec.get("platform", "link")
    return sorted(links, key=lambda link: link.key != platform)
