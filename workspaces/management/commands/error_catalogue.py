"""`error_catalogue`: print the README's error page, generated from the catalogue."""

from django.core.management.base import BaseCommand

from workspaces.errors import catalogue_markdown


class Command(BaseCommand):
    help = "Print the error catalogue as the Markdown table the README carries."

    def handle(self, *args, **options):
        self.stdout.write(catalogue_markdown(), ending="")
