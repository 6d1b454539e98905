"""The researcher's dashboard, under /dashboard/. Every view requires login and goes
through ``studies.access``."""

from django.urls import path

from webapp.views.dashboard import data, live, studies, testrun, texts

app_name = "dashboard"

urlpatterns = [
    path("", studies.index, name="index"),
    path("new/", studies.study_new, name="study-new"),
    path("upload-spec/", studies.study_upload, name="study-upload"),
    path("corpora/upload/", studies.corpus_upload, name="corpus-upload"),
    path("power/", studies.power, name="power"),
    path("power/<int:run_id>/", studies.power_run, name="power-run"),
    path("<slug:slug>/", studies.study_detail, name="study"),
    path("<slug:slug>/spec.toml", studies.study_spec, name="spec"),
    path("<slug:slug>/copy/", studies.study_copy_view, name="copy"),
    path("<slug:slug>/edit/", studies.study_edit_form, name="edit"),
    path("<slug:slug>/edit/spec/", studies.study_edit_spec, name="edit-spec"),
    path("<slug:slug>/delete/", studies.study_delete_view, name="delete"),
    path("<slug:slug>/generate/cancel/", texts.generation_cancel_view, name="generate-cancel"),
    path("<slug:slug>/review/restore/", texts.article_restore_view, name="restore"),
    path("<slug:slug>/generate/", texts.generation_start_view, name="generate"),
    path("<slug:slug>/progress.json", texts.generation_progress_json, name="progress-json"),
    path("<slug:slug>/review/", texts.review, name="review"),
    path("<slug:slug>/review/exclude/", texts.article_exclude, name="exclude"),
    path("<slug:slug>/preview/", texts.preview, name="preview"),
    path("<slug:slug>/preview/frame/", texts.preview_frame, name="preview-frame"),
    path("<slug:slug>/launch/", live.launch, name="launch"),
    path("<slug:slug>/test-run/", testrun.test_run, name="test-run"),
    path("<slug:slug>/design.json", live.design_json, name="design-json"),
    path("<slug:slug>/pause/", live.transition, {"action": "pause"}, name="pause"),
    path("<slug:slug>/resume/", live.transition, {"action": "resume"}, name="resume"),
    path("<slug:slug>/close/", live.transition, {"action": "close"}, name="close"),
    path("<slug:slug>/monitor/", live.monitor, name="monitor"),
    path("<slug:slug>/monitor.json", live.monitor_json, name="monitor-json"),
    path("<slug:slug>/monitor/accuracy/", live.accuracy_peek, name="accuracy"),
    path("<slug:slug>/data/", data.exports, name="exports"),
    path("<slug:slug>/data/export.zip", data.export_zip, name="export-zip"),
    path("<slug:slug>/data/payments.csv", data.export_payments, name="export-payments"),
    path("<slug:slug>/data/<str:filename>", data.export_file, name="export-file"),
    path("<slug:slug>/judges/", data.judges, name="judges"),
    path("<slug:slug>/sharing/", data.sharing, name="sharing"),
    path("<slug:slug>/report/", data.report, name="report"),
    path("<slug:slug>/audit/", data.audit, name="audit"),
]
