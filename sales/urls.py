from django.urls import path

from sales.views import contracts, orders, performance, pipeline

app_name = "sales"

urlpatterns = [
    path("products/", orders.ProductListView.as_view(), name="product_list"),
    path("products/new/", orders.ProductFormView.as_view(), name="product_create"),
    path("products/<int:pk>/edit/", orders.ProductFormView.as_view(), name="product_update"),
    path("orders/", orders.OrderListView.as_view(), name="order_list"),
    path("orders/new/", orders.OrderCreateView.as_view(), name="order_create"),
    path("orders/<int:pk>/", orders.OrderDetailView.as_view(), name="order_detail"),
    path("orders/<int:pk>/edit/", orders.OrderUpdateView.as_view(), name="order_update"),
    path("orders/<int:pk>/status/", orders.OrderStatusView.as_view(), name="order_status"),
    path("orders/<int:pk>/refunds/", orders.RefundCreateView.as_view(), name="refund_create"),
    path("pipeline/", pipeline.PipelineView.as_view(), name="pipeline"),
    path("opportunities/", pipeline.OpportunityListView.as_view(), name="opportunity_list"),
    path(
        "opportunities/new/",
        pipeline.OpportunityCreateView.as_view(),
        name="opportunity_create",
    ),
    path(
        "opportunities/<int:pk>/",
        pipeline.OpportunityDetailView.as_view(),
        name="opportunity_detail",
    ),
    path(
        "opportunities/<int:pk>/edit/",
        pipeline.OpportunityUpdateView.as_view(),
        name="opportunity_update",
    ),
    path(
        "opportunities/<int:pk>/move/",
        pipeline.OpportunityMoveView.as_view(),
        name="opportunity_move",
    ),
    path("competitors/", pipeline.CompetitorListView.as_view(), name="competitor_list"),
    path("competitors/new/", pipeline.CompetitorFormView.as_view(), name="competitor_create"),
    path(
        "competitors/<int:pk>/",
        pipeline.CompetitorDetailView.as_view(),
        name="competitor_detail",
    ),
    path(
        "competitors/<int:pk>/edit/",
        pipeline.CompetitorFormView.as_view(),
        name="competitor_update",
    ),
    path("contracts/", contracts.ContractListView.as_view(), name="contract_list"),
    path("contracts/new/", contracts.ContractCreateView.as_view(), name="contract_create"),
    path("contracts/<int:pk>/", contracts.ContractDetailView.as_view(), name="contract_detail"),
    path(
        "contracts/<int:pk>/edit/",
        contracts.ContractUpdateView.as_view(),
        name="contract_update",
    ),
    path(
        "contracts/<int:pk>/status/",
        contracts.ContractStatusView.as_view(),
        name="contract_status",
    ),
    path("contracts/<int:pk>/file/", contracts.ContractFileView.as_view(), name="contract_file"),
    path("performance/", performance.PerformanceView.as_view(), name="performance"),
    path("targets/", performance.TargetsView.as_view(), name="targets"),
]
