from django.contrib import admin

from panels.models import Contact, Invitation, Panel, Panelist, StakeholderGroup


class GroupInline(admin.TabularInline):
    model = StakeholderGroup
    extra = 0


@admin.register(Panel)
class PanelAdmin(admin.ModelAdmin):
    list_display = ["name", "created_at"]
    inlines = [GroupInline]


@admin.register(StakeholderGroup)
class StakeholderGroupAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "panel", "target_size"]
    list_filter = ["panel"]


@admin.register(Panelist)
class PanelistAdmin(admin.ModelAdmin):
    list_display = ["public_id", "panel", "group", "status", "language", "is_simulated"]
    list_filter = ["panel", "group", "status", "language", "is_simulated"]
    search_fields = ["public_id"]
    list_select_related = ["panel", "group"]


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["email", "name", "panelist", "panel"]
    search_fields = ["email", "name"]
    raw_id_fields = ["panelist"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["panelist", "status", "sent_at", "opened_at", "expires_at"]
    list_filter = ["status"]
    readonly_fields = ["token_hash"]
    raw_id_fields = ["panelist"]
