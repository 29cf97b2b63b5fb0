"""Shared factories: workspaces, members of each role, tokens, senders."""

import itertools

import factory
from django.contrib.auth import get_user_model

from workspaces import services
from workspaces.models import ApiToken, Membership, Sender, Workspace
from workspaces.scopes import ALL_SCOPES, scopes_for_role

_numbers = itertools.count(1000)


def next_number() -> str:
    """A fresh valid US number, never one of the simulator's special endings."""
    return f"+1415555{next(_numbers):04d}"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}@example.test")
    email = factory.LazyAttribute(lambda u: u.username)


class WorkspaceFactory(factory.django.DjangoModelFactory):
    """A live workspace (not in test mode) with an owner and an audit chain."""

    class Meta:
        model = Workspace

    name = factory.Sequence(lambda n: f"Workspace {n}")
    test_mode = False

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        owner = UserFactory()
        workspace = services.workspace_create(
            name=kwargs.pop("name"), owner=owner, test_mode=kwargs.pop("test_mode")
        )
        if kwargs:
            Workspace.objects.filter(pk=workspace.pk).update(**kwargs)
            workspace.refresh_from_db()
        return workspace


def member(workspace: Workspace, role: str) -> Membership:
    """The workspace's member with this role (the owner exists already)."""
    existing = Membership.objects.current().filter(workspace=workspace, role=role).first()
    return existing or services.member_add(workspace=workspace, user=UserFactory(), role=role)


def token_for(
    workspace: Workspace, role: str = "owner", scopes=None, mode: str = "live", **kwargs
) -> tuple[ApiToken, str]:
    """A token made by the workspace's member of `role`, with that role's scopes by default."""
    creator = member(workspace, role)
    scopes = sorted(scopes if scopes is not None else scopes_for_role(role))
    return services.token_create(
        creator=creator, name=f"{role} {mode}", scopes=scopes, mode=mode, **kwargs
    )


def sender_for(workspace: Workspace, **kwargs) -> Sender:
    """An active long-code sender of the workspace."""
    owner = member(workspace, "owner")
    fields = {"number": next_number(), "kind": Sender.LONG_CODE, "country": "US", **kwargs}
    return services.sender_create(workspace=workspace, actor=services.member_actor(owner), **fields)


_short_codes = itertools.count(50000)


def short_code_for(workspace: Workspace, mps: int = 100) -> Sender:
    """A US short code of the workspace: 100 msg/s (or a lower `mps`), for traffic in bulk."""
    return sender_for(workspace, number=str(next(_short_codes)), kind=Sender.SHORT_CODE, mps=mps)


def contacts_for(
    workspace: Workspace, phones, *, tags=("all",), consent: bool = True, **fields
) -> list:
    """Contacts of these numbers (first names F0, F1, …), in bulk, each with a marketing consent
    (method web_form) unless told otherwise."""
    from campaigns.models import Contact
    from compliance.models import Consent
    from workspaces import clock

    now = clock.now()
    made = Contact.objects.bulk_create(
        [
            Contact(
                workspace=workspace,
                phone=phone,
                first_name=f"F{i}",
                tags=list(tags),
                created_at=now,
                **fields,
            )
            for i, phone in enumerate(phones)
        ],
        batch_size=5000,
    )
    if consent:
        Consent.objects.bulk_create(
            [
                Consent(
                    workspace=workspace,
                    phone=c.phone,
                    method="web_form",
                    captured_at=now,
                    created_at=now,
                )
                for c in made
            ],
            batch_size=5000,
        )
    return made


__all__ = [
    "ALL_SCOPES",
    "UserFactory",
    "WorkspaceFactory",
    "contacts_for",
    "member",
    "next_number",
    "sender_for",
    "short_code_for",
    "token_for",
]


def message_for(
    workspace: Workspace,
    sender: Sender,
    *,
    to: str | None = None,
    body: str = "hi",
    test: bool = False,
    **fields,
):
    """A message accepted through the real send service (policy, pricing, timeline)."""
    from messaging.actions.send import SendInput, message_send

    data = SendInput(to=to or next_number(), body=body, from_=sender.number, **fields)
    return message_send(workspace=workspace, test=test, data=data)
