from interactions.tests.conftest import (  # noqa: F401 - shared fixtures
    colleague_customer,
    own_customer,
    ticket_make,
)
from sales.tests.conftest import (  # noqa: F401 - shared fixtures
    customer_make,
    headphones,
    kettle,
    order_make,
    product_make,
)
