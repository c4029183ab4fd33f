"""Researcher-side invitation management for a round (mounted at "")."""

from django.urls import path

from delphi.views import communications as comm
from delphi.views import invitations as views

r = "studies/<uuid:study>/rounds/<uuid:round>/invitations/"

urlpatterns = [
    path(r, views.round_invitations, name="round_invitations"),
    path(r + "send/", views.round_invitations_send, name="round_invitations_send"),
    path(r + "<uuid:panelist>/resend/", views.invitation_resend, name="invitation_resend"),
    path(r + "<uuid:panelist>/revoke/", views.invitation_revoke, name="invitation_revoke"),
]

c = "studies/<uuid:study>/rounds/<uuid:round>/"
urlpatterns += [
    path(c + "communications/", comm.round_communications, name="round_communications"),
    path(c + "communications/message/", comm.round_message, name="round_message"),
    path(c + "communications/remind-now/", comm.round_remind_now, name="round_remind_now"),
]
