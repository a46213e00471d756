"""The feedback pages: `feedback` the feedback list, record, handling and the
loyalty page; `surveys` building, sending and reading surveys."""
