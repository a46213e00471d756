from django.urls import path

from customers.views import merge, pick, pool, profile, segments, transfer

app_name = "customers"

urlpatterns = [
    path("", profile.CustomerListView.as_view(), name="list"),
    path("new/", profile.CustomerCreateView.as_view(), name="create"),
    path("bulk/", profile.CustomerBulkView.as_view(), name="bulk"),
    path("segments/", segments.SegmentListView.as_view(), name="segment_list"),
    path("segments/new/", segments.SegmentFormView.as_view(), name="segment_create"),
    path("segments/<int:pk>/edit/", segments.SegmentFormView.as_view(), name="segment_update"),
    path("segments/<int:pk>/count/", segments.SegmentCountView.as_view(), name="segment_count"),
    path(
        "segments/<int:pk>/delete/",
        segments.SegmentDeleteView.as_view(),
        name="segment_delete",
    ),
    path("deleted/", profile.DeletedCustomerListView.as_view(), name="deleted"),
    path("pool/", pool.CustomerPoolView.as_view(), name="pool"),
    path("check/", pool.ConflictCheckView.as_view(), name="check"),
    path("pick/", pick.CustomerPickView.as_view(), name="pick"),
    path("claim/", pool.CustomerClaimView.as_view(), name="claim"),
    path("recycle-soon/", pool.RecycleSoonView.as_view(), name="recycle_soon"),
    path("quality/", profile.QualityView.as_view(), name="quality"),
    path("duplicates/", merge.DuplicateListView.as_view(), name="duplicates"),
    path("duplicates/merge/", merge.MergeView.as_view(), name="merge"),
    path("duplicates/dismiss/", merge.DismissView.as_view(), name="dismiss"),
    path("merges/<int:pk>/undo/", merge.UnmergeView.as_view(), name="unmerge"),
    path("export/", transfer.CustomerExportView.as_view(), name="export"),
    path("template/", transfer.TemplateDownloadView.as_view(), name="template"),
    path("import/", transfer.ImportUploadView.as_view(), name="import"),
    path("import/<int:pk>/", transfer.ImportJobView.as_view(), name="import_job"),
    path("import/<int:pk>/columns/", transfer.ImportMappingView.as_view(), name="import_mapping"),
    path("import/<int:pk>/values/", transfer.ImportValuesView.as_view(), name="import_values"),
    path("import/<int:pk>/preview/", transfer.ImportPreviewView.as_view(), name="import_preview"),
    path(
        "import/<int:pk>/rejected/", transfer.ImportRejectedView.as_view(), name="import_rejected"
    ),
    path("import/<int:pk>/warnings/", transfer.ImportWarnedView.as_view(), name="import_warned"),
    path("<int:pk>/", profile.CustomerDetailView.as_view(), name="detail"),
    path("<int:pk>/edit/", profile.CustomerUpdateView.as_view(), name="update"),
    path("<int:pk>/reveal/", profile.CustomerRevealView.as_view(), name="reveal"),
    path("<int:pk>/verify/", profile.CustomerVerifyView.as_view(), name="verify"),
    path("<int:pk>/release/", pool.CustomerReleaseView.as_view(), name="release"),
    path("<int:pk>/lock/", pool.CustomerLockView.as_view(), name="lock"),
    path("<int:pk>/delete/", profile.CustomerDeleteView.as_view(), name="delete"),
    path("<int:pk>/restore/", profile.CustomerRestoreView.as_view(), name="restore"),
    path("<int:pk>/contacts/new/", profile.ContactFormView.as_view(), name="contact_create"),
    path(
        "<int:pk>/contacts/<int:contact_id>/edit/",
        profile.ContactFormView.as_view(),
        name="contact_update",
    ),
    path(
        "<int:pk>/contacts/<int:contact_id>/delete/",
        profile.ContactDeleteView.as_view(),
        name="contact_delete",
    ),
    path(
        "<int:pk>/collaborators/add/",
        profile.CollaboratorAddView.as_view(),
        name="collaborator_add",
    ),
    path(
        "<int:pk>/collaborators/<int:collaborator_id>/remove/",
        profile.CollaboratorRemoveView.as_view(),
        name="collaborator_remove",
    ),
]
