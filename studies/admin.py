"""The Django admin: a read-mostly view for staff.

Everything that changes a study goes through the services, which keep the audit log and
the per-process caches of a launched study right: a launched study is read-only here,
status is never a form field, and pausing, resuming and closing are admin actions that
call ``study_transition``. The audit log cannot be edited at all.
"""

from django.contrib import admin, messages

from studies import models
from studies.services.studies import StudyError, study_transition


@admin.register(models.Corpus)
class CorpusAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "created_at")


def _transition_action(action: str, label: str):
    def run(modeladmin, request, queryset):
        for study in queryset:
            try:
                study_transition(study=study, action=action, actor=request.user)
            except StudyError as exc:
                modeladmin.message_user(request, f"{study.slug}: {exc}", messages.ERROR)
            else:
                modeladmin.message_user(request, f"{study.slug}: {action} done", messages.SUCCESS)

    run.__name__ = f"{action}_studies"
    run.short_description = label
    return run


@admin.register(models.Study)
class StudyAdmin(admin.ModelAdmin):
    list_display = ("slug", "title", "status", "protocol", "design", "owner", "created_at")
    list_filter = ("status", "protocol", "design")
    readonly_fields = ("status", "design_hash", "frozen", "spec")
    actions = [
        _transition_action("pause", "Pause the selected studies"),
        _transition_action("resume", "Resume the selected studies"),
        _transition_action("close", "Close the selected studies"),
    ]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.is_frozen:
            # Launched: the record is frozen and hashed; nothing here may change it.
            return [f.name for f in self.model._meta.concrete_fields] + ["shared_with"]
        return self.readonly_fields

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.is_frozen:
            return False
        return super().has_delete_permission(request, obj)


@admin.register(models.AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("study", "action", "actor", "at")
    list_filter = ("action",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
