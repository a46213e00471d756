"""Every write to products, orders and refunds: checked, locked, audited.

Amounts are `Decimal`, never float. The services live by concern, and callers
import each from its module: `values` (text, numbers and money as typed),
`access` (locking a customer's row for a write), `products`, `lines` (an
order's lines checked), `orders` and `refunds`. Lines change only while the
order waits for payment; after that, money goes back through refunds. Each
write refreshes the customer's purchase metrics in the same transaction.
"""
