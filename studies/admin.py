from django.contrib import admin

from studies import models


@admin.register(models.Corpus)
class CorpusAdmin(admin.ModelAdmin):
    list_display = ("name", "created_at")


@admin.register(models.Study)
class StudyAdmin(admin.ModelAdmin):
    list_display = ("slug", "title", "status", "protocol", "design", "owner", "created_at")
    list_filter = ("status", "protocol", "design")
    readonly_fields = ("design_hash", "frozen", "spec")


@admin.register(models.AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("study", "action", "actor", "at")
    list_filter = ("action",)
