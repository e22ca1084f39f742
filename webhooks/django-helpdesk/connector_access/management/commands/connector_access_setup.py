"""`manage.py connector_access_setup`: the closed-KB queue, the group holding its permission and,
optionally, a non-public KB category on that queue and a staff group holding every queue's
permission. Idempotent: run it again and it changes only what is missing or wrong.

    python manage.py connector_access_setup                      # queue "closed-kb", group "closed-kb-readers"
    python manage.py connector_access_setup --category closed-kb --category-title "Closed knowledge base"
    python manage.py connector_access_setup --staff-group "helpdesk staff"

The queue is only a key for KB visibility: it takes no public submissions and should hold no
tickets (whoever holds its permission could see them in the staff views, were they staff).
"""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from connector_access import lever


class Command(BaseCommand):
    help = "Create or check the closed-KB queue, its readers' group and (optionally) a KB category."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--group",
            default=None,
            help=f"the readers' group (default: the first of CONNECTOR_KB_GROUPS, else {lever.DEFAULT_GROUP})",
        )
        parser.add_argument("--queue", default="closed-kb", help="slug of the dedicated queue (default closed-kb)")
        parser.add_argument("--queue-title", default="Closed knowledge base (access key, no tickets)")
        parser.add_argument("--category", default=None, help="slug of a non-public KB category to put on the queue")
        parser.add_argument("--category-title", default="Closed knowledge base")
        parser.add_argument(
            "--staff-group",
            default=None,
            help="a group of helpdesk staff to give every queue's permission (per-queue "
            "mode takes full access away from staff who are not superusers)",
        )

    def handle(self, *args, **opts) -> None:
        from helpdesk.models import KBCategory, Queue, Ticket

        group_name = opts["group"] or lever.allowed_groups()[0]
        with transaction.atomic():
            queue, made = Queue.objects.get_or_create(
                slug=opts["queue"], defaults={"title": opts["queue_title"], "allow_public_submission": False}
            )
            self._say(made, f"queue {queue.slug!r}")
            if queue.allow_public_submission:
                queue.allow_public_submission = False
                queue.save(update_fields=["allow_public_submission"])
                self.stdout.write(f"queue {queue.slug!r}: public submission switched off")
            permission = self._queue_permission(queue)
            group, made = Group.objects.get_or_create(name=group_name)
            self._say(made, f"group {group.name!r}")
            if not group.permissions.filter(pk=permission.pk).exists():
                group.permissions.add(permission)
                self.stdout.write(f"group {group.name!r}: given {queue.permission_name}")
            if opts["category"]:
                category, made = KBCategory.objects.get_or_create(
                    slug=opts["category"],
                    defaults={
                        "name": opts["category_title"][:100],
                        "title": opts["category_title"][:100],
                        "description": opts["category_title"],
                        "queue": queue,
                        "public": False,
                    },
                )
                self._say(made, f"KB category {category.slug!r}")
                if category.public or category.queue_id != queue.pk:
                    category.public, category.queue = False, queue
                    category.save(update_fields=["public", "queue"])
                    self.stdout.write(f"KB category {category.slug!r}: made non-public, on queue {queue.slug!r}")
            if opts["staff_group"]:
                staff, made = Group.objects.get_or_create(name=opts["staff_group"])
                self._say(made, f"group {staff.name!r}")
                for q in Queue.objects.all():
                    staff.permissions.add(self._queue_permission(q))
                self.stdout.write(
                    f"group {staff.name!r}: holds every queue's permission (add your non-superuser staff to it)"
                )
        if group.name not in lever.allowed_groups():
            self.stderr.write(f"warning: {group.name!r} is not in CONNECTOR_KB_GROUPS; the connector cannot manage it")
        foreign = lever.foreign_permissions(group)
        if foreign:
            raise CommandError(
                f"group {group.name!r} also holds {', '.join(foreign)}: the connector refuses "
                "to manage it; remove those or choose another group"
            )
        tickets = Ticket.objects.filter(queue=queue).count()
        if tickets:
            self.stderr.write(
                f"warning: queue {queue.slug!r} holds {tickets} ticket(s); move them to another "
                "queue, it is only a key for the closed KB"
            )
        for problem in lever.configuration_problems():
            self.stderr.write(f"warning: {problem}")
        self.stdout.write(f"ok: members of {group.name!r} see the non-public KB categories on queue {queue.slug!r}")

    def _say(self, made: bool, what: str) -> None:
        self.stdout.write(f"{what}: {'created' if made else 'already there'}")

    @staticmethod
    def _queue_permission(queue) -> Permission:
        """The queue's permission (helpdesk makes it when the queue is created; made here if lost)."""
        if not queue.permission_name:
            queue.prepare_permission_name()
            queue.save(update_fields=["permission_name"])
        codename = queue.permission_name.split(".", 1)[1]
        content_type = ContentType.objects.get_for_model(type(queue))
        permission, _ = Permission.objects.get_or_create(
            codename=codename,
            content_type=content_type,
            defaults={"name": f"Permission for queue: {queue.title}"[:255]},
        )
        return permission
