"""Admin permission mixins shared by every app's admin: one place says what staff may not do."""


class NoDeleteAdminMixin:
    """Staff may not delete: the rows carry history that other rows and the audit log point to."""

    def has_delete_permission(self, request, obj=None):
        return False


class NoAddDeleteAdminMixin(NoDeleteAdminMixin):
    """Staff may edit, but rows are born and retired through services, never the admin."""

    def has_add_permission(self, request):
        return False


class ReadOnlyAdminMixin(NoAddDeleteAdminMixin):
    """Staff look only; changes go through services (the API or an admin action), audited there."""

    def has_change_permission(self, request, obj=None):
        return False
