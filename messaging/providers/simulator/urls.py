from django.urls import path

from .views import inbound

urlpatterns = [path("inbound", inbound, name="simulator-inbound")]
