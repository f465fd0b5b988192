from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.core.management.base import BaseCommand, CommandError

from agent import llm
from agent.eval.runner import QUESTIONS, dialect, load_cases, run_case, run_sql, viewer_for
from agent.execution import ExecutionFailed
from agent.sqlguard import RejectedSQL


class Command(BaseCommand):
    help = (
        "Measure the agent on its evaluation set (agent/eval/questions.yaml, over the demo catalogue loaded by "
        "`manage.py load_records fixtures/demo.json`): ask each question to the configured model "
        "(OPENAI_API_KEY / OPENAI_BASE_URL / OPENAI_MODEL) and print the execution-match accuracy. "
        "Questions marked `viewer: admin` (the user directory) are asked as an admin; an expected SQL that "
        "fails counts as a miss. Reads only; the questions are not logged."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--file", default=str(QUESTIONS), help="questions file (YAML)")
        parser.add_argument("--user", help="ask as this username (default: an anonymous visitor: public assets)")
        parser.add_argument("--only", action="append", default=[], metavar="ID", help="run only these question ids")
        parser.add_argument(
            "--check-expected",
            action="store_true",
            help="only check that every expected SQL runs and returns rows (no model needed)",
        )
        parser.add_argument(
            "--fail-under",
            type=float,
            default=None,
            metavar="PCT",
            help="exit 1 when the accuracy is below this percentage",
        )

    def handle(self, *args, **options) -> None:
        cases = load_cases(options["file"])
        if options["only"]:
            cases = [c for c in cases if c.id in set(options["only"])]
        if not cases:
            raise CommandError("No questions to run.")
        user = self._user(options["user"])
        if options["check_expected"]:
            return self._check_expected(cases, user)
        if not llm.is_configured():
            raise CommandError(
                "The agent is not configured: set OPENAI_API_KEY (and OPENAI_BASE_URL for a local server)."
            )
        self.stdout.write(f"Evaluating {len(cases)} questions with {llm.model_name()} ...")
        matched = 0
        for case in cases:
            result = run_case(case, user=user)
            matched += result.matched
            if result.matched:
                self.stdout.write(f"  ok    {case.id}")
            else:
                why = result.message or f"{len(result.rows)} rows, expected {result.expected_rows}"
                code = "" if result.expected_failed else f"error code {result.error_code}: "
                self.stdout.write(f"  MISS  {case.id}: {code}{why}")
                if result.sql:
                    self.stdout.write(f"        {' '.join(result.sql.split())}")
        accuracy = 100.0 * matched / len(cases)
        self.stdout.write(f"Execution accuracy: {matched}/{len(cases)} = {accuracy:.1f}%")
        if options["fail_under"] is not None and accuracy < options["fail_under"]:
            raise CommandError(f"Accuracy {accuracy:.1f}% is below {options['fail_under']}%.")

    def _user(self, username: str | None):
        if not username:
            return AnonymousUser()
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        return user

    def _check_expected(self, cases, user) -> None:
        problems = 0
        for case in cases:
            try:
                rows = run_sql(case.sql_for(dialect()), user=viewer_for(case, user)).rows
            except (RejectedSQL, ExecutionFailed) as exc:
                problems += 1
                self.stdout.write(f"  FAIL  {case.id}: {exc}")
                continue
            if (not rows or rows == [[0]]) and not case.allow_empty:
                problems += 1
                self.stdout.write(f"  EMPTY {case.id}: the expected answer is empty; is the demo catalogue loaded?")
            else:
                self.stdout.write(f"  ok    {case.id}: {len(rows)} rows")
        if problems:
            raise CommandError(f"{problems} of {len(cases)} expected queries failed or were empty.")
        self.stdout.write(f"All {len(cases)} expected queries run and return rows.")
