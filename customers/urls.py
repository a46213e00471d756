from django.urls import path

from customers import io_views, merge_views, pages, pool_views, segment_views, views

app_name = "customers"

urlpatterns = [
    path("", views.CustomerListView.as_view(), name="list"),
    path("new/", views.CustomerCreateView.as_view(), name="create"),
    path("bulk/", views.CustomerBulkView.as_view(), name="bulk"),
    path("segments/", segment_views.SegmentListView.as_view(), name="segment_list"),
    path("segments/new/", segment_views.SegmentFormView.as_view(), name="segment_create"),
    path("segments/<int:pk>/edit/", segment_views.SegmentFormView.as_view(), name="segment_update"),
    path(
        "segments/<int:pk>/count/", segment_views.SegmentCountView.as_view(), name="segment_count"
    ),
    path(
        "segments/<int:pk>/delete/",
        segment_views.SegmentDeleteView.as_view(),
        name="segment_delete",
    ),
    path("deleted/", views.DeletedCustomerListView.as_view(), name="deleted"),
    path("pool/", pool_views.CustomerPoolView.as_view(), name="pool"),
    path("check/", pool_views.ConflictCheckView.as_view(), name="check"),
    path("pick/", pages.CustomerPickView.as_view(), name="pick"),
    path("claim/", pool_views.CustomerClaimView.as_view(), name="claim"),
    path("recycle-soon/", pool_views.RecycleSoonView.as_view(), name="recycle_soon"),
    path("quality/", views.QualityView.as_view(), name="quality"),
    path("duplicates/", merge_views.DuplicateListView.as_view(), name="duplicates"),
    path("duplicates/merge/", merge_views.MergeView.as_view(), name="merge"),
    path("duplicates/dismiss/", merge_views.DismissView.as_view(), name="dismiss"),
    path("merges/<int:pk>/undo/", merge_views.UnmergeView.as_view(), name="unmerge"),
    path("export/", io_views.CustomerExportView.as_view(), name="export"),
    path("template/", io_views.TemplateDownloadView.as_view(), name="template"),
    path("import/", io_views.ImportUploadView.as_view(), name="import"),
    path("import/<int:pk>/", io_views.ImportJobView.as_view(), name="import_job"),
    path("import/<int:pk>/columns/", io_views.ImportMappingView.as_view(), name="import_mapping"),
    path("import/<int:pk>/values/", io_views.ImportValuesView.as_view(), name="import_values"),
    path("import/<int:pk>/preview/", io_views.ImportPreviewView.as_view(), name="import_preview"),
    path(
        "import/<int:pk>/rejected/", io_views.ImportRejectedView.as_view(), name="import_rejected"
    ),
    path("import/<int:pk>/warnings/", io_views.ImportWarnedView.as_view(), name="import_warned"),
    path("<int:pk>/", views.CustomerDetailView.as_view(), name="detail"),
    path("<int:pk>/edit/", views.CustomerUpdateView.as_view(), name="update"),
    path("<int:pk>/reveal/", views.CustomerRevealView.as_view(), name="reveal"),
    path("<int:pk>/verify/", views.CustomerVerifyView.as_view(), name="verify"),
    path("<int:pk>/release/", pool_views.CustomerReleaseView.as_view(), name="release"),
    path("<int:pk>/lock/", pool_views.CustomerLockView.as_view(), name="lock"),
    path("<int:pk>/delete/", views.CustomerDeleteView.as_view(), name="delete"),
    path("<int:pk>/restore/", views.CustomerRestoreView.as_view(), name="restore"),
    path("<int:pk>/contacts/new/", views.ContactFormView.as_view(), name="contact_create"),
    path(
        "<int:pk>/contacts/<int:contact_id>/edit/",
        views.ContactFormView.as_view(),
        name="contact_update",
    ),
    path(
        "<int:pk>/contacts/<int:contact_id>/delete/",
        views.ContactDeleteView.as_view(),
        name="contact_delete",
    ),
    path(
        "<int:pk>/collaborators/add/",
        views.CollaboratorAddView.as_view(),
        name="collaborator_add",
    ),
    path(
        "<int:pk>/collaborators/<int:collaborator_id>/remove/",
        views.CollaboratorRemoveView.as_view(),
        name="collaborator_remove",
    ),
]
