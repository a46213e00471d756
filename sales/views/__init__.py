"""The sales pages, one module per concern: `orders` products, orders and their
forms (and the status change other records reuse); `pipeline` the board and the
opportunities; `contracts` contracts and their signed copies; `performance`
targets and results."""
