"""Prepare the demo: corpus, researcher account, study, generated texts, launch."""

import time
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from studies.models import DetectionJob, GenerationJob, Study
from studies.queueing import in_process
from studies.services.corpora import CorpusImportError, corpus_import
from studies.services.detection import detection_start
from studies.services.generation import generation_start
from studies.services.studies import StudyError, study_create, study_launch
from studies.services.tell_audit import tell_audit_current, tell_audit_lines
from studies.spec import SpecError

DEMO_SPEC = Path(settings.BASE_DIR) / "docs" / "examples" / "demo.toml"


class Command(BaseCommand):
    help = "Set up the demo study on the bundled defaults and launch it (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--corpus", default=settings.NEWSEVAL_DEFAULT_CORPUS)
        parser.add_argument("--spec", default=str(DEMO_SPEC))
        parser.add_argument("--password", default="demo-password")

    def handle(self, *args, corpus: str, spec: str, password: str, **options):
        try:
            result = corpus_import(path=corpus, name="news")
        except CorpusImportError as exc:
            raise CommandError(f"corpus: {exc}") from None
        self.stdout.write(f"corpus 'news': {result.created} new, {result.unchanged} already there")
        user_model = get_user_model()
        user, created = user_model.objects.get_or_create(username="demo")
        if created:
            user.set_password(password)
            user.save()
        study = Study.objects.filter(slug="demo").first()
        if study is None:
            try:
                study, warnings = study_create(spec_text=Path(spec).read_text(), owner=user)
            except (SpecError, StudyError, OSError) as exc:
                raise CommandError(f"{spec}: {exc}") from None
            for warning in warnings:
                self.stderr.write(f"warning: {warning}")
        if study.status in (Study.Status.DRAFT, Study.Status.GENERATING):
            try:
                generation_start(study=study, actor=user)
            except StudyError as exc:
                raise CommandError(str(exc)) from None
            self._wait(study)
        study.refresh_from_db()
        if study.status == Study.Status.READY and study.spec.get("detection", {}).get("detectors"):
            self._wait_detection(study, user)  # launch needs every shown text scored
        if study.status == Study.Status.READY:
            tells = tell_audit_current(study=study)
            for line in tell_audit_lines(tells):
                self.stdout.write(line)
            if tells and tells["gated"]:
                # A demo must start; a real study would fix the texts first (see the findings).
                self.stderr.write("warning: launching the demo despite the form tells above")
            study = study_launch(
                study=study, actor=user, acknowledge_tells=bool(tells and tells["gated"])
            )
        if study.status not in (Study.Status.LIVE, Study.Status.PAUSED, Study.Status.CLOSED):
            raise CommandError(f"the demo study is {study.status}; see the dashboard")
        self.stdout.write(self.style.SUCCESS(f"demo study is {study.status}"))

    def _wait_detection(self, study: Study, user) -> None:
        job = DetectionJob.objects.filter(study=study).first()
        if job is None or job.state == DetectionJob.State.FAILED:  # e.g. a demo run before
            try:
                detection_start(study=study, actor=user)
            except StudyError as exc:
                raise CommandError(f"detection: {exc}") from None
        self.stdout.write("scoring the demo texts with the spec's detectors ...")
        with tqdm(unit="score") as bar:
            while True:
                job = DetectionJob.objects.get(study=study)
                bar.total = job.total_units or None
                bar.n = job.done_units
                bar.refresh()
                if job.state == DetectionJob.State.FAILED:
                    raise CommandError(f"detection failed: {job.error}; run the demo again")
                if job.state == DetectionJob.State.DONE:
                    return
                time.sleep(1)

    def _wait(self, study: Study) -> None:
        where = "in this process" if in_process() else "by the Celery worker"
        self.stdout.write(f"generating the demo texts with SmolLM2-135M {where} ...")
        with tqdm(unit="text") as bar:
            while True:
                jobs = list(GenerationJob.objects.filter(study=study))
                bar.total = sum(j.total_units for j in jobs) or None
                bar.n = sum(j.done_units for j in jobs)
                bar.refresh()
                failed = [j for j in jobs if j.state == GenerationJob.State.FAILED]
                if failed:
                    raise CommandError(
                        f"generation failed: {failed[0].error}; run the demo again to resume"
                    )
                if jobs and all(j.state == GenerationJob.State.DONE for j in jobs):
                    return
                time.sleep(1)
