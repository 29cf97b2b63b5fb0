"""`/api/v1/members` and `/api/v1/invitations` (CONTRACT §11): parse, call a service, render.

Every route needs `workspace:manage` and a live token: members and invitations are live things,
so a test token is refused (403, `reason: test_token`), reads included. The role rules (nobody
grants or changes above their own role) weigh the role of the token's creator.
"""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers
from rest_framework.decorators import action

from .. import invitations, members, selectors
from ..models import Invitation, Membership
from ..resources import invitation_resource, member_resource
from ..scopes import ROLE_CHOICES
from .base import ListRetrieveViewSet, client_ip, created
from .openapi import example

MANAGE = "workspace:manage"


class MemberSerializer(serializers.ModelSerializer):
    """A member of the workspace."""

    email = serializers.EmailField(source="user.email")
    name = serializers.CharField(source="user.get_full_name")
    two_factor = serializers.BooleanField(help_text="True when the person has TOTP set up.")
    joined_at = serializers.DateTimeField(source="created_at")
    last_seen_at = serializers.DateTimeField(
        source="user.last_login", allow_null=True, help_text="Their last sign-in."
    )
    removed_at = serializers.DateTimeField(allow_null=True, help_text="Set when removed.")

    class Meta:
        model = Membership
        fields = [
            "id",
            "email",
            "name",
            "role",
            "two_factor",
            "joined_at",
            "last_seen_at",
            "removed_at",
        ]
        read_only_fields = fields

    def to_representation(self, instance):
        """Rendered by `member_resource` (the fields above document)."""
        return member_resource(instance)


class MemberRoleSerializer(serializers.Serializer):
    """`{"role"}`: one of owner admin campaign_manager agent viewer, at most the caller's."""

    role = serializers.ChoiceField(choices=ROLE_CHOICES)


class InvitationSerializer(serializers.ModelSerializer):
    """An invitation as listed: never its link."""

    status = serializers.ChoiceField(
        choices=["pending", "accepted", "revoked", "expired"],
        help_text="`expired`: still pending after `expires_at`.",
    )
    invited_by = serializers.EmailField(
        source="invited_by.user.email", allow_null=True, help_text="The inviter's email."
    )

    class Meta:
        model = Invitation
        fields = ["id", "email", "role", "status", "invited_by", "created_at", "expires_at"]
        read_only_fields = fields

    def to_representation(self, instance):
        """Rendered by `invitation_resource` (the fields above document)."""
        return invitation_resource(instance)


class InvitationCreatedSerializer(InvitationSerializer):
    """The creation answer: the one time `accept_url` is shown (it is also mailed)."""

    accept_url = serializers.URLField(help_text="Valid 7 days, once. Shown only here.")

    class Meta(InvitationSerializer.Meta):
        fields = [*InvitationSerializer.Meta.fields, "accept_url"]
        read_only_fields = fields

    def to_representation(self, instance):
        """Rendered by `invitation_resource`, with the link."""
        return {**invitation_resource(instance), "accept_url": instance.accept_url}


class InvitationCreateSerializer(serializers.Serializer):
    """`{"email", "role"}`."""

    email = serializers.EmailField(max_length=254)
    role = serializers.ChoiceField(choices=ROLE_CHOICES)


INVITE_EXAMPLE = example("A campaign manager", {"email": "sam@example.com", "role": "viewer"})
ROLE_EXAMPLE = example("Make a viewer", {"role": "viewer"})


class _MembersBase(ListRetrieveViewSet):
    @property
    def acting(self) -> Membership:
        """Whose role the rules weigh: the token's creator."""
        return self.request.token.created_by


class InvitationViewSet(_MembersBase, mixins.DestroyModelMixin):
    """`/api/v1/invitations`: invite (the link shown once and mailed), list, read, revoke."""

    model = Invitation
    serializer_class = InvitationSerializer
    required_scopes = {"list": MANAGE, "retrieve": MANAGE, "create": MANAGE, "destroy": MANAGE}
    live_only = {
        "list": "read invitations",
        "retrieve": "read invitations",
        "create": "invite members",
        "destroy": "revoke invitations",
    }
    error_codes = {"create": ("invalid_state",), "destroy": ("invalid_state",)}

    def get_queryset(self):
        """The workspace's invitations, newest first."""
        return selectors.invitation_list(workspace=self.request.workspace)

    @extend_schema(
        request=InvitationCreateSerializer,
        responses={201: InvitationCreatedSerializer},
        examples=[INVITE_EXAMPLE],
    )
    def create(self, request):
        """Invite an email with a role no higher than yours; 409 for a current member; a second
        pending invitation to the same email replaces the first."""
        form = InvitationCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        invitation, url = invitations.invitation_create(
            acting=self.acting, actor=self.actor, ip=client_ip(request), **form.validated_data
        )
        invitation.accept_url = url
        return created(InvitationCreatedSerializer, invitation)

    @extend_schema(responses={200: InvitationSerializer})
    def destroy(self, request, pk=None):
        """Revoke: 200 with the invitation, `status: revoked` (409 once accepted)."""
        invitation = invitations.invitation_revoke(
            invitation=self.get_object(), actor=self.actor, ip=client_ip(request)
        )
        return created(InvitationSerializer, invitation, status=200)


class MemberViewSet(_MembersBase, mixins.DestroyModelMixin):
    """`/api/v1/members`: list, read, change a role, remove, hand over ownership."""

    model = Membership
    serializer_class = MemberSerializer
    required_scopes = {
        "list": MANAGE,
        "retrieve": MANAGE,
        "partial_update": MANAGE,
        "destroy": MANAGE,
        "make_owner": MANAGE,
        "reset_two_factor": MANAGE,
    }
    live_only = {
        "list": "read members",
        "retrieve": "read members",
        "partial_update": "change a member's role",
        "destroy": "remove members",
        "make_owner": "hand over ownership",
        "reset_two_factor": "reset a member's two-factor",
    }
    error_codes = {
        "partial_update": ("invalid_state",),
        "destroy": ("invalid_state",),
        "make_owner": ("invalid_state",),
    }

    def get_queryset(self):
        """The workspace's current members (removed ones are gone from the API)."""
        return selectors.member_list(workspace=self.request.workspace)

    @extend_schema(
        request=MemberRoleSerializer, responses={200: MemberSerializer}, examples=[ROLE_EXAMPLE]
    )
    def partial_update(self, request, pk=None):
        """Change the role: never above yours, nor of someone above you (403); the last owner
        keeps the role (409); a demotion narrows the member's tokens at once."""
        target = self.get_object()  # another workspace's id is a 404 before the body is read
        form = MemberRoleSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        member = members.member_role_change(
            acting=self.acting,
            member=target,
            role=form.validated_data["role"],
            actor=self.actor,
            ip=client_ip(request),
        )
        return created(MemberSerializer, member, status=200)

    @extend_schema(responses={200: MemberSerializer})
    def destroy(self, request, pk=None):
        """Remove: 200 with `removed_at`; their tokens are revoked (the last owner: 409)."""
        member = members.member_remove(
            acting=self.acting, member=self.get_object(), actor=self.actor, ip=client_ip(request)
        )
        return created(MemberSerializer, member, status=200)

    @extend_schema(request=None, responses={200: MemberSerializer})
    @action(detail=True, methods=["post"], url_path="make-owner")
    def make_owner(self, request, pk=None):
        """Owner only: this member becomes owner and the caller's member an admin."""
        member = members.ownership_transfer(
            acting=self.acting, member=self.get_object(), actor=self.actor, ip=client_ip(request)
        )
        return created(MemberSerializer, member, status=200)

    @extend_schema(request=None, responses={200: MemberSerializer})
    @action(detail=True, methods=["post"], url_path="reset-two-factor")
    def reset_two_factor(self, request, pk=None):
        """Owner only: remove the member's two-factor (they set it up again)."""
        member = members.two_factor_reset(
            acting=self.acting, member=self.get_object(), actor=self.actor, ip=client_ip(request)
        )
        return created(MemberSerializer, member, status=200)
