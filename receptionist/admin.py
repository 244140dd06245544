"""Admin helpers shared by the apps."""


class SuperuserOnlyAdmin:
    """Managers sign in to the admin for the callback policy only; the records themselves are
    changed in the app, through the services that keep their rules (locks, versions, history).
    """

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request, *args):
        return request.user.is_active and request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser
