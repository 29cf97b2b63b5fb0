"""New campaign (CONTRACT §12): a guided form; `Review` saves a draft and shows its dry run with
what it implies; `Launch` launches only the draft that was reviewed.

`Review` creates (then updates) a draft through the API's serializer and services, and shows
`campaigns.review.campaign_review`: the API's dry run as a table, the spend left after it, how long
the sender's rate makes it take, and whom quiet hours will hold. The review carries a fingerprint;
`Launch` saves the form again, reviews again, and launches only when the fingerprint still matches
(else the new review is shown with "review again"). Campaigns are made in the mode shown.
"""

from dataclasses import dataclass

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse

from campaigns.api.serializers import CampaignSerializer
from campaigns.models import Campaign, Template
from campaigns.review import Review, campaign_review
from campaigns.services.launch import campaign_create, campaign_launch, campaign_update
from workspaces.errors import TernError
from workspaces.selectors import sender_list
from workspaces.services import member_actor

from ...access import Seat, console_page
from ...feedback import show_error, show_success
from ...forms import FormState, validation_error

WRITE = "campaigns:write"
TEMPLATE_CHOICES = 200
REVIEW_AGAIN = (
    "The audience, the cost or the spend left changed since your review (or the form did): "
    "nothing was launched. Review again: the new review is below."
)


def campaign_values(post) -> dict:
    """The posted form, as typed (shown again as it was)."""
    names = ("name", "body", "template", "tags", "sender", "send_at", "throttle", "campaign")
    values = {name: post.get(name, "").strip() for name in names}
    values["body"] = post.get("body", "")
    values["everyone"] = post.get("everyone") == "on"
    return values


def split_tags(text: str) -> list[str]:
    """`vip, spring;beta` → the tags (commas or semicolons between them)."""
    return [t.strip() for t in text.replace(";", ",").split(",") if t.strip()]


def campaign_payload(values: dict) -> dict:
    """The API's request body for these values (`campaigns` create/update)."""
    tags = split_tags(values["tags"])
    payload = {
        "name": values["name"],
        "audience": {"all": True} if values["everyone"] else ({"tags": tags} if tags else {}),
        "from": values["sender"],
        "send_at": values["send_at"] or None,
        "throttle_per_minute": values["throttle"] or None,
    }
    if values["template"]:
        payload["template"] = values["template"]
    if values["body"].strip():
        payload["body"] = values["body"]
    return payload


def _draft(seat: Seat, campaign_id: str) -> Campaign | None:
    """The draft being reviewed (this workspace's, this mode's), or None for a new one."""
    if not campaign_id:
        return None
    rows = Campaign.objects.for_workspace(seat.workspace).filter(test=seat.is_test)
    campaign = rows.filter(pk=campaign_id).first()
    if campaign is None:
        raise Http404("No such campaign.")
    return campaign


def _draft_save(seat: Seat, campaign: Campaign | None, values: dict) -> Campaign:
    """Create or update the draft as the API does: its serializer, then its services."""
    form = CampaignSerializer(data=campaign_payload(values), context={"workspace": seat.workspace})
    if not form.is_valid():
        raise validation_error(form)
    if campaign is None:
        actor = member_actor(seat.member)
        return campaign_create(
            workspace_id=seat.workspace_id, test=seat.is_test, actor=actor, **form.validated_data
        )
    return campaign_update(campaign=campaign, changes=form.validated_data)


@dataclass(frozen=True)
class Shown:
    """What the page shows besides the form: the review, if any."""

    review: Review | None = None
    status: int = 200


def _initial(seat: Seat, template: str) -> dict:
    """An empty form: `From` preselects the default sender; `?template=` (the Template page's
    link) preselects that template."""
    return {"sender": seat.workspace.default_sender or "", "everyone": False, "template": template}


def _page(request, form: FormState, shown: Shown = Shown()):
    """The form, and the review below it when there is one."""
    seat = request.seat
    numbers = list(sender_list(workspace=seat.workspace).values_list("number", flat=True))
    templates = Template.objects.for_workspace(seat.workspace).order_by("name", "id")
    context = {
        "form": form,
        "numbers": numbers,
        "templates": templates[:TEMPLATE_CHOICES],
        "review": shown.review,
        "duration": duration_words(shown.review) if shown.review else "",
    }
    return render(request, "console/campaign_new.html", context, status=shown.status)


def duration_words(review: Review) -> str:
    """`about 4 minutes at 1 message per second` (the sender's rate, or the lower throttle)."""
    seconds = review.duration.total_seconds()
    if seconds < 60:
        amount = f"{max(1, round(seconds))} seconds" if seconds else "no time"
    elif seconds < 3600:
        amount = f"{round(seconds / 60)} minutes"
    else:
        amount = f"{seconds / 3600:.1f} hours"
    rate = review.rate_per_second
    per, unit = (rate, "second") if rate >= 1 else (rate * 60, "minute")
    pace = f"{per:g} message{'' if per == 1 else 's'} per {unit}"
    return f"about {amount} at {pace}"


def campaign_url(seat: Seat, campaign_id: str) -> str:
    """The Campaign page of the campaign."""
    try:
        return reverse(
            "console:campaign", kwargs={"slug": seat.workspace.slug, "campaign_id": campaign_id}
        )
    except NoReverseMatch:  # until the Campaign page (console/views/campaigns/detail.py) is merged
        return f"/w/{seat.workspace.slug}/campaigns/{campaign_id}/"


def _launch(request, campaign: Campaign, review: Review, values: dict):
    """Launch the reviewed draft, unless the review shown is no longer true."""
    seat = request.seat
    if request.POST.get("fingerprint", "") != review.fingerprint:
        messages.warning(request, REVIEW_AGAIN)
        return _page(request, FormState(values=values), Shown(review, status=409))
    try:
        launched = campaign_launch(campaign=campaign, actor=member_actor(seat.member))
    except TernError as error:  # 402 spend_limit_exceeded, a sender that cannot send
        show_error(request, error)
        return _page(request, FormState(values=values), Shown(review, error.http_status))
    show_success(request, f"Campaign “{launched.name}” launched ({launched.status}).")
    return redirect(campaign_url(seat, launched.pk))


def _post(request):
    """`Review` (save the draft, show its review) or `Launch` (the same, then launch)."""
    seat, values = request.seat, campaign_values(request.POST)
    campaign = _draft(seat, values["campaign"])
    if campaign is not None and campaign.status != Campaign.DRAFT:  # a Launch posted twice
        messages.info(request, f"Campaign “{campaign.name}” was launched already.")
        return redirect(campaign_url(seat, campaign.pk))
    try:
        campaign = _draft_save(seat, campaign, values)
    except TernError as error:
        show_error(request, error)
        return _page(request, FormState.failed(values, error), Shown(status=error.http_status))
    values["campaign"] = campaign.pk
    try:
        review = campaign_review(campaign=campaign)
    except TernError as error:  # the sender cannot send: the dry run's own refusal
        show_error(request, error)
        failed = FormState.failed(values, error, field="from")
        return _page(request, failed, Shown(status=error.http_status))
    if request.POST.get("action") == "launch":
        return _launch(request, campaign, review, values)
    return _page(request, FormState(values=values), Shown(review))


@console_page(WRITE, post=WRITE)
def campaign_new(request):
    """The guided form; a post reviews the draft, or launches it when the review still holds."""
    if request.method == "POST":
        return _post(request)
    return _page(request, FormState(values=_initial(request.seat, request.GET.get("template", ""))))
