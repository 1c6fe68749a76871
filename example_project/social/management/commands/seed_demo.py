"""``manage.py seed_demo``: fill the example site with users and activity."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from example_project.social.seed import make_plan
from example_project.social.seed import seed as seed_plan


class Command(BaseCommand):
    help = (
        "Create demo users, follows, posts and likes through the models, so that "
        "model tracking fills the feeds. Running it again with the same options "
        "adds nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--users", type=int, default=50, help="number of users (default 50)")
        parser.add_argument("--posts", type=int, default=2000, help="number of posts (default 2000)")
        parser.add_argument("--likes", type=int, default=3000, help="number of likes (default 3000)")
        parser.add_argument("--seed", type=int, default=2024, help="random seed of the plan")

    def handle(self, *args: Any, users: int, posts: int, likes: int, seed: int, **options: Any) -> None:
        if users < 2 or posts < 0 or likes < 0:
            raise CommandError("--users must be at least 2; --posts and --likes cannot be negative")
        plan = make_plan(users=users, posts=posts, likes=likes, seed=seed)
        report = seed_plan(plan, self.stdout if options["verbosity"] > 0 else None)
        if not report.added_anything:
            self.stdout.write("Nothing to add: the demo data is already there.")
            return
        made = ", ".join(f"{report.created[k]} {k}" for k in ("users", "follows", "posts", "likes"))
        self.stdout.write(self.style.SUCCESS(f"Seeded {made} in {report.seconds:.1f}s."))
