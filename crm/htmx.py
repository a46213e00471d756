"""Views that answer htmx with a part of their page (django-template-partials'
`template#partial`) and the whole page otherwise. The two answers share a URL,
so every answer says `Vary: HX-Request`: a cache, or the browser's back button,
never serves one for the other."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers


class HtmxPartialMixin:
    """`htmx_partial` names the part of `template_name` htmx gets ("" for the
    whole template, e.g. a page built on templates/list_page.html, which
    answers htmx with its results itself)."""

    htmx_partial = ""

    def dispatch(self, request, *args, **kwargs):
        response = super().dispatch(request, *args, **kwargs)
        patch_vary_headers(response, ("HX-Request",))
        return response

    def htmx_template(self, partial: str | None = None) -> str:
        """The template, or its `partial` (default `htmx_partial`) for htmx."""
        partial = self.htmx_partial if partial is None else partial
        return self.template_name + (f"#{partial}" if partial and self.request.htmx else "")

    def get_template_names(self) -> list[str]:
        return [self.htmx_template()]

    def render_part(self, context: dict, partial: str | None = None) -> HttpResponse:
        return render(self.request, self.htmx_template(partial), context)


def htmx_redirect(request, url: str) -> HttpResponse:
    """Go to `url`: htmx follows HX-Redirect (a whole page, not a swap)."""
    if request.htmx:
        response = render(request, "partials/_empty.html")
        response["HX-Redirect"] = url
        return response
    return redirect(url)
