"""`verify_audit_chain [--workspace SLUG]`: exit 0 when every chain holds, else name the break."""

from django.core.management.base import BaseCommand, CommandError

from workspaces.audit import verify_chain
from workspaces.models import Workspace


class Command(BaseCommand):
    help = "Verify the hash chain of the audit log (one workspace, or all)."

    def add_arguments(self, parser):
        parser.add_argument("--workspace", help="the workspace's slug (default: every workspace)")

    def handle(self, *args, **options):
        workspaces = Workspace.objects.order_by("slug")
        if options["workspace"]:
            workspaces = workspaces.filter(slug=options["workspace"])
            if not workspaces.exists():
                raise CommandError(f"no workspace with slug {options['workspace']!r}")
        broken = []
        for workspace in workspaces:
            report = verify_chain(workspace.pk)
            if report.ok:
                self.stdout.write(f"ok {workspace.slug}: {report.count} events")
            else:
                broken.append(report.broken_event_id)
                self.stdout.write(
                    f"BROKEN {workspace.slug}: first broken event "
                    f"{report.broken_event_id} ({report.problem})"
                )
        if broken:
            raise CommandError(f"audit chain broken at {broken[0]}", returncode=1)
