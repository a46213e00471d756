"""Pagination without COUNT(*): a page fetches one row more than it shows, which
says whether a next page exists. On a million rows a count costs more than the
page itself, and nobody reads "page 1 of 20,000"."""

from __future__ import annotations

from django.core.paginator import InvalidPage, Page, Paginator


class PeekPage(Page):
    def __init__(self, object_list, number, paginator, *, has_next: bool):
        super().__init__(object_list, number, paginator)
        self._has_next = has_next

    def has_next(self) -> bool:
        return self._has_next

    def has_previous(self) -> bool:
        return self.number > 1

    def has_other_pages(self) -> bool:
        return self.has_next() or self.has_previous()

    def start_index(self) -> int:
        return (self.number - 1) * self.paginator.per_page + 1 if self.object_list else 0

    def end_index(self) -> int:
        return (self.number - 1) * self.paginator.per_page + len(self.object_list)


class PeekPaginator(Paginator):
    """A paginator for ListView that never counts (templates: partials/_pager.html)."""

    max_page = 2000  # deep offsets get slow; filters are the way further in

    def validate_number(self, number) -> int:
        try:
            number = int(number)
        except (TypeError, ValueError):
            raise InvalidPage("Not a page number.") from None
        if number < 1 or number > self.max_page:
            raise InvalidPage("Page out of range.")
        return number

    def page(self, number) -> PeekPage:
        number = self.validate_number(number)
        start = (number - 1) * self.per_page
        rows = list(self.object_list[start : start + self.per_page + 1])
        if not rows and number > 1:
            raise InvalidPage("That page is empty.")
        has_next = len(rows) > self.per_page
        return PeekPage(rows[: self.per_page], number, self, has_next=has_next)

    @property
    def num_pages(self) -> int:
        """Unknown, never counted: Django's ListView turns ?page=last into this
        number, and page 0 is an invalid page (404), not an error."""
        return 0

    @property
    def count(self) -> int:  # pragma: no cover - a guard, never used by the pages
        raise NotImplementedError("PeekPaginator does not count rows.")
