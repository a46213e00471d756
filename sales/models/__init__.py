"""Sales records (销售记录): products, orders with their lines and refunds, the
pipeline, contracts, and targets with the daily sales figures.

Money is `Decimal` throughout (`money`). The models live by concern in
`products`, `orders` (orders, lines, refunds), `opportunities` (the pipeline and
competitors), `contracts` and `performance` (targets, sales by day); this module
re-exports every model and public constant, so `from sales.models import Order`
is how the rest of Kehu names them.
"""

from sales.models.contracts import (
    EXPIRED,
    EXPIRED_LABEL,
    Contract,
    ContractKind,
    ContractStatus,
    contract_file_name,
)
from sales.models.money import (
    BASE_CURRENCY,
    CENT,
    CURRENCY_PLACES,
    CURRENCY_SYMBOLS,
    ZERO,
    Currency,
    cents,
    percent,
)
from sales.models.opportunities import (
    CLOSED_STAGES,
    OPEN_STAGES,
    STAGE_PROBABILITIES,
    Competitor,
    LostReason,
    Opportunity,
    OpportunityStageChange,
    PricePosition,
    Stage,
    StageSetting,
)
from sales.models.orders import (
    PURCHASE_STATUSES,
    STATUS_MOVES,
    Order,
    OrderLine,
    OrderSource,
    OrderStatus,
    Refund,
)
from sales.models.performance import SalesDay, SalesTarget
from sales.models.products import Product

__all__ = [
    "BASE_CURRENCY",
    "CENT",
    "CLOSED_STAGES",
    "CURRENCY_PLACES",
    "CURRENCY_SYMBOLS",
    "EXPIRED",
    "EXPIRED_LABEL",
    "OPEN_STAGES",
    "PURCHASE_STATUSES",
    "STAGE_PROBABILITIES",
    "STATUS_MOVES",
    "ZERO",
    "Competitor",
    "Contract",
    "ContractKind",
    "ContractStatus",
    "Currency",
    "LostReason",
    "Opportunity",
    "OpportunityStageChange",
    "Order",
    "OrderLine",
    "OrderSource",
    "OrderStatus",
    "PricePosition",
    "Product",
    "Refund",
    "SalesDay",
    "SalesTarget",
    "Stage",
    "StageSetting",
    "cents",
    "contract_file_name",
    "percent",
]
