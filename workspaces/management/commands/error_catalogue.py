"""`error_catalogue [--readme]`: print the README's error page, or rewrite it in README.md."""

import re

from django.conf import settings
from django.core.management.base import BaseCommand

from workspaces.errors import catalogue_markdown

SECTION = re.compile(r"(<!-- errors:start -->\n).*(<!-- errors:end -->)", re.S)


class Command(BaseCommand):
    help = "Print the error catalogue as the Markdown table the README carries."

    def add_arguments(self, parser):
        parser.add_argument("--readme", action="store_true", help="rewrite README.md's section")

    def handle(self, *args, **options):
        if not options["readme"]:
            self.stdout.write(catalogue_markdown(), ending="")
            return
        readme = settings.BASE_DIR / "README.md"
        text = SECTION.sub(
            lambda m: m.group(1) + catalogue_markdown() + m.group(2), readme.read_text()
        )
        readme.write_text(text)
        self.stdout.write("README.md error page regenerated")
