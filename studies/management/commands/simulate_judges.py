import json
import os

from django.core.management.base import BaseCommand, CommandError

from studies.simulation import SimulationError, Simulator, write_log
from studies.simulation_model import JudgeModel, parse_condition_models


class Command(BaseCommand):
    help = (
        "Simulated judges take a live study over real HTTP (entry link, consent, items, "
        "closing questions, completion). The truth for each item comes from the researcher "
        "API with a token (--token or NEWSEVAL_API_TOKEN), which also marks them simulated."
    )

    def add_arguments(self, parser):
        parser.add_argument("study", help="the study's slug")
        parser.add_argument("--judges", type=int, required=True)
        parser.add_argument("--base-url", required=True, help="e.g. http://127.0.0.1:8000")
        parser.add_argument("--token", default=os.environ.get("NEWSEVAL_API_TOKEN", ""))
        parser.add_argument("--concurrency", type=int, default=4)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--platform", choices=["link", "prolific"], default="link")
        parser.add_argument("--sensitivity", type=float, default=1.0, help="d' for every condition")
        parser.add_argument("--bias", type=float, default=0.0, help="criterion c; >0 leans human")
        parser.add_argument("--idk", type=float, default=0.05, help='"I don\'t know" rate')
        parser.add_argument("--read-ms", type=int, default=0, help="reading time per item")
        parser.add_argument("--attention-fail", type=float, default=0.0)
        parser.add_argument("--drop-out", type=float, default=0.0, help="chance to leave per item")
        parser.add_argument("--reload", type=float, default=0.0, help="chance to reload an item")
        parser.add_argument(
            "--condition",
            default="",
            help="per-condition settings: 'NAME:sensitivity=2,bias=0.2;OTHER:idk=0.1'",
        )
        parser.add_argument("--log", help="write every answer sent as JSON lines here")

    def handle(self, *args, **o):
        if not o["token"]:
            raise CommandError(
                "a researcher API token is needed: --token or NEWSEVAL_API_TOKEN "
                "(create one with `manage.py create_api_token USER`)"
            )
        default = JudgeModel(
            sensitivity=o["sensitivity"],
            bias=o["bias"],
            idk=o["idk"],
            read_ms=o["read_ms"],
            attention_fail=o["attention_fail"],
            drop_out=o["drop_out"],
            reload=o["reload"],
        )
        try:
            models = parse_condition_models(o["condition"], default)
        except ValueError as exc:
            raise CommandError(f"--condition: {exc}") from None
        simulator = Simulator(
            base_url=o["base_url"],
            slug=o["study"],
            token=o["token"],
            models=models,
            default=default,
            seed=o["seed"],
            platform=o["platform"],
        )
        try:
            report = simulator.run(o["judges"], o["concurrency"])
        except SimulationError as exc:
            raise CommandError(str(exc)) from None
        if o["log"]:
            write_log(report, o["log"])
        summary = report.summary()
        summary["true_accuracy"] = {
            name: round(m.true_accuracy(), 4) for name, m in models.items()
        } or {"every condition": round(default.true_accuracy(), 4)}
        self.stdout.write(json.dumps(summary, indent=2))
        return None
