"""Twilio's callback routes; config/urls.py mounts them at hooks/twilio/."""

from django.urls import path

from . import views

urlpatterns = [
    path("status", views.status, name="twilio-status"),
    path("inbound", views.inbound, name="twilio-inbound"),
]
