"""Interaction, task and ticket pages. Reads through the selectors, writes through
the services; anything outside the user's scope answers 404."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views import View
from django.views.generic import TemplateView

from crm.forms import service_errors
from crm.htmx import HtmxPartialMixin
from crm.normalise import id_param
from customers.models import Customer
from customers.segments import segment_members
from customers.selectors import customer_metrics
from customers.timeline import customer_timeline
from customers.views.base import (
    DetailActionView,
    FilteredListView,
    PicksCustomerMixin,
    customer_or_404,
    customer_param_or_404,
    customer_param_visible,
    visible_customer_or_404,
)
from customers.views.segments import segment_visible_or_404
from interactions.filters import InteractionFilter, TicketFilter
from interactions.forms import (
    InteractionForm,
    SegmentTaskForm,
    TaskForm,
    TicketCommentForm,
    TicketForm,
    TicketMoveForm,
    TicketUpdateForm,
)
from interactions.models import (
    Interaction,
    ServiceTicket,
    Task,
    TicketStatus,
)
from interactions.segment_tasks import segment_tasks_create
from interactions.selectors import (
    due_task_count,
    interaction_get,
    interaction_list,
    interaction_tasks,
    servable_customers,
    sla_policies,
    task_board,
    task_people,
    ticket_get,
    ticket_list,
    ticket_people,
    ticket_thread,
)
from interactions.services.interactions import (
    interaction_editable,
    interaction_log,
    interaction_update,
)
from interactions.services.tasks import task_complete, task_create
from interactions.services.tickets import (
    ticket_comment,
    ticket_move,
    ticket_open,
    ticket_update,
    ticket_workable,
)

# --- interactions ---------------------------------------------------------------


class InteractionLogView(HtmxPartialMixin, LoginRequiredMixin, PermissionRequiredMixin, View):
    """The short form on the customer page: log a call, visit or message in place.
    After a save the form comes back empty and the timeline reloads."""

    permission_required = "interactions.add_interaction"
    template_name = "interactions/interaction_form.html"
    htmx_partial = "interaction-form"

    def get(self, request, pk: int):
        customer = customer_or_404(servable_customers(request.user), pk)
        return self._render(request, customer, InteractionForm(customer=customer))

    def post(self, request, pk: int):
        customer = customer_or_404(servable_customers(request.user), pk)
        form = InteractionForm(request.POST, customer=customer)
        if form.is_valid():
            try:
                interaction = interaction_log(
                    actor=request.user,
                    customer_id=customer.pk,
                    data=form.service_data(),
                    request=request,
                )
            except ValidationError as exc:
                service_errors(form, exc)
            else:
                if interaction.follow_up_at:
                    done = _("Logged, and the follow-up is in your tasks.")
                else:
                    done = _("The interaction is logged.")
                if not request.htmx:
                    messages.success(request, done)
                    return redirect(customer.get_absolute_url() + "#timeline")
                # In place: the message stands above a fresh form; the timeline reloads.
                fresh = InteractionForm(customer=customer)
                response = self._render(request, customer, fresh, done=done)
                response["HX-Trigger"] = "timeline-changed"
                return response
        return self._render(request, customer, form)

    def _render(self, request, customer, form, done: str = ""):
        context = {"customer": customer, "form": form, "done": done}
        if done:  # the page's header learns the new last contact too
            context["metrics"] = customer_metrics(customer)
        return self.render_part(context)


class InteractionDetailView(LoginRequiredMixin, PermissionRequiredMixin, TemplateView):
    permission_required = "interactions.view_interaction"
    template_name = "interactions/interaction_detail.html"

    def get_context_data(self, **kwargs):
        try:
            interaction = interaction_get(self.request.user, self.kwargs["pk"])
        except Interaction.DoesNotExist:
            raise Http404 from None
        return super().get_context_data(
            interaction=interaction,
            customer=interaction.customer,
            tasks=interaction_tasks(self.request.user, interaction),
            can_edit=interaction_editable(self.request.user, interaction),
            **kwargs,
        )


class InteractionUpdateView(LoginRequiredMixin, PermissionRequiredMixin, View):
    permission_required = "interactions.change_interaction"
    template_name = "interactions/interaction_edit.html"

    def _load(self, request, pk: int) -> Interaction:
        try:
            interaction = interaction_get(request.user, pk)
        except Interaction.DoesNotExist:
            raise Http404 from None
        if not interaction_editable(request.user, interaction):
            raise Http404
        return interaction

    def get(self, request, pk: int):
        interaction = self._load(request, pk)
        form = InteractionForm(
            initial=InteractionForm.initial_for(interaction),
            customer=interaction.customer,
            creating=False,
        )
        return self._render(request, interaction, form)

    def post(self, request, pk: int):
        interaction = self._load(request, pk)
        form = InteractionForm(request.POST, customer=interaction.customer, creating=False)
        if form.is_valid():
            try:
                interaction_update(
                    actor=request.user,
                    interaction_id=interaction.pk,
                    data=form.service_data(),
                    version=form.cleaned_data.get("version") or 0,
                    request=request,
                )
            except ValidationError as exc:
                service_errors(form, exc)
            else:
                messages.success(request, _("The interaction is saved."))
                return redirect(interaction)
        return self._render(request, interaction, form)

    def _render(self, request, interaction, form):
        return render(
            request,
            self.template_name,
            {"interaction": interaction, "customer": interaction.customer, "form": form},
        )


class InteractionListView(FilteredListView):
    permission_required = "interactions.view_interaction"
    filterset_class = InteractionFilter
    template_name = "interactions/interaction_list.html"

    def get_queryset(self):
        return interaction_list(self.request.user)


class TimelineView(LoginRequiredMixin, View):
    """The customer's timeline, a page at a time (htmx): ?kind= and ?cursor=."""

    template_name = "interactions/_timeline.html"

    def get(self, request, pk: int):
        customer = visible_customer_or_404(request.user, pk)
        page = customer_timeline(
            request.user,
            customer,
            kind=request.GET.get("kind", ""),
            cursor=request.GET.get("cursor", ""),
        )
        part = "#entries" if request.GET.get("cursor") else ""
        return render(request, self.template_name + part, {"customer": customer, "timeline": page})


# --- tasks -------------------------------------------------------------------------


class TaskListView(LoginRequiredMixin, PermissionRequiredMixin, TemplateView):
    """My tasks: overdue, today, upcoming. Managers pick a team member or the team."""

    permission_required = "interactions.view_task"
    template_name = "interactions/task_list.html"
    TEAM = "team"

    def get_context_data(self, **kwargs):
        user = self.request.user
        people = list(task_people(user))
        wanted = self.request.GET.get("person", "")
        if wanted == self.TEAM and len(people) > 1:
            assignees, person = [p.pk for p in people], self.TEAM
        else:
            chosen = next((p for p in people if str(p.pk) == wanted), user)
            assignees, person = [chosen.pk], str(chosen.pk)
        return super().get_context_data(
            board=task_board(user, assignees=assignees, expand=self.request.GET.get("all", "")),
            people=people,
            person=person,
            showing_others=person != str(user.pk),
            **kwargs,
        )


class TaskCreateView(LoginRequiredMixin, PermissionRequiredMixin, View):
    permission_required = "interactions.add_task"
    template_name = "interactions/task_form.html"

    def _customer(self, request) -> Customer | None:
        """The customer of `?customer=` (404 when it is out of sight), if any."""
        customer = customer_param_visible(request)
        if customer is None and request.GET.get("customer"):
            raise Http404
        return customer

    def get(self, request):
        customer = self._customer(request)
        form = TaskForm(initial={"assignee": request.user.pk}, assignees=task_people(request.user))
        return self._render(request, customer, form)

    def post(self, request):
        customer = self._customer(request)
        form = TaskForm(request.POST, assignees=task_people(request.user))
        if form.is_valid():
            try:
                task_create(
                    actor=request.user,
                    data={**form.cleaned_data, "customer": customer},
                    request=request,
                )
            except ValidationError as exc:
                service_errors(form, exc)
            else:
                messages.success(request, _("The task is created."))
                return redirect(customer or "interactions:task_list")
        return self._render(request, customer, form)

    def _render(self, request, customer, form):
        return render(request, self.template_name, {"customer": customer, "form": form})


class TaskDoneView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """POST done=1 (or 0): tick a task off in place (htmx) and refresh the badge."""

    permission_required = "interactions.change_task"

    def post(self, request, pk: int):
        done = request.POST.get("done", "1") != "0"
        try:
            task = task_complete(actor=request.user, task_id=pk, done=done, request=request)
        except ValidationError:
            raise Http404 from None
        if not request.htmx:
            done_text = _("The task is done.") if done else _("The task is open again.")
            messages.success(request, done_text)
            return redirect("interactions:task_list")
        task = Task.objects.select_related("customer", "assignee").get(pk=task.pk)
        return render(
            request,
            "interactions/task_list.html#task-row",
            {"task": task, "due_count": due_task_count(request.user), "oob": True},
        )


# --- tickets ------------------------------------------------------------------------


class TicketListView(FilteredListView):
    permission_required = "interactions.view_serviceticket"
    filterset_class = TicketFilter
    template_name = "interactions/ticket_list.html"

    def get_queryset(self):
        return ticket_list(self.request.user)

    def get_filterset_kwargs(self, filterset_class):
        # Always bound, so the queue starts at the active tickets (TicketFilter).
        return {**super().get_filterset_kwargs(filterset_class), "data": self.request.GET}

    def get_context_data(self, **kwargs):
        return super().get_context_data(policies=sla_policies(), **kwargs)


class TicketCreateView(PicksCustomerMixin, LoginRequiredMixin, PermissionRequiredMixin, View):
    permission_required = "interactions.add_serviceticket"
    template_name = "interactions/ticket_form.html"
    pick_title = gettext_lazy("New ticket")
    pick_customers = staticmethod(servable_customers)

    def _form(self, request, customer, data=None):
        orders = customer.orders.order_by("-ordered_at", "-id")[:50]
        initial = {"assignee": request.user.pk}
        order_id = id_param(request.GET.get("order"))
        if order_id is not None:
            initial["order"] = order_id
        return TicketForm(
            data,
            initial=initial,
            assignees=ticket_people(request.user, customer),
            orders=customer.orders.filter(pk__in=[o.pk for o in orders]).order_by("-ordered_at"),
        )

    def get(self, request):
        customer = customer_param_or_404(request, servable_customers(request.user))
        return self._render(request, customer, self._form(request, customer))

    def post(self, request):
        customer = customer_param_or_404(request, servable_customers(request.user))
        form = self._form(request, customer, request.POST)
        if form.is_valid():
            try:
                ticket = ticket_open(
                    actor=request.user,
                    customer_id=customer.pk,
                    data=form.cleaned_data,
                    request=request,
                )
            except ValidationError as exc:
                service_errors(form, exc)
            else:
                opened = _("Ticket %(number)s is open.") % {"number": ticket.number}
                messages.success(request, opened)
                return redirect(ticket)
        return self._render(request, customer, form)

    def _render(self, request, customer, form):
        return render(request, self.template_name, {"customer": customer, "form": form})


def _ticket_or_404(user, pk: int) -> ServiceTicket:
    try:
        return ticket_get(user, pk)
    except ServiceTicket.DoesNotExist:
        raise Http404 from None


class TicketDetailView(LoginRequiredMixin, PermissionRequiredMixin, TemplateView):
    permission_required = "interactions.view_serviceticket"
    template_name = "interactions/ticket_detail.html"

    def get_context_data(self, move_form=None, comment_form=None, update_form=None, **kwargs):
        user = self.request.user
        ticket = _ticket_or_404(user, self.kwargs["pk"])
        workable = ticket_workable(user, ticket)
        policies = sla_policies()
        return super().get_context_data(
            ticket=ticket,
            customer=ticket.customer,
            thread=ticket_thread(ticket),
            workable=workable,
            moves=[(status, TicketStatus(status).label) for status in ticket.next_statuses()],
            move_form=move_form or TicketMoveForm(),
            comment_form=comment_form or TicketCommentForm(),
            update_form=update_form
            or TicketUpdateForm(
                initial={
                    "assignee": ticket.assignee_id,
                    "priority": ticket.priority,
                    "category": ticket.category,
                },
                assignees=ticket_people(user, ticket.customer, ticket),
            ),
            policy=policies[ticket.priority],
            policies=policies,
            **kwargs,
        )


class _TicketActionView(DetailActionView):
    """A form posted from the ticket page."""

    permission_required = "interactions.change_serviceticket"
    detail_view = TicketDetailView

    def load(self, user, pk: int):
        return _ticket_or_404(user, pk)


class TicketMoveView(_TicketActionView):
    form_name = "move_form"

    def form(self, request, ticket):
        return TicketMoveForm(request.POST)

    def act(self, request, ticket, form) -> str:
        data = form.cleaned_data
        moved = ticket_move(
            actor=request.user,
            ticket_id=ticket.pk,
            status=data["status"],
            resolution=data.get("resolution", ""),
            satisfaction=data.get("satisfaction"),
            request=request,
        )
        return _("The ticket is now “%(status)s”.") % {"status": moved.get_status_display()}


class TicketCommentView(_TicketActionView):
    form_name = "comment_form"

    def form(self, request, ticket):
        return TicketCommentForm(request.POST)

    def act(self, request, ticket, form) -> str:
        ticket_comment(
            actor=request.user, ticket_id=ticket.pk, body=form.cleaned_data["body"], request=request
        )
        return _("The comment is added.")


class TicketUpdateView(_TicketActionView):
    form_name = "update_form"

    def form(self, request, ticket):
        return TicketUpdateForm(
            request.POST, assignees=ticket_people(request.user, ticket.customer, ticket)
        )

    def act(self, request, ticket, form) -> str:
        ticket_update(
            actor=request.user, ticket_id=ticket.pk, data=form.cleaned_data, request=request
        )
        return _("The ticket is saved.")


class SegmentTasksView(LoginRequiredMixin, PermissionRequiredMixin, View):
    permission_required = ("customers.view_segment", "interactions.add_task")

    def _render(self, request, form, segment):
        count = segment_members(segment, request.user).count()
        return render(request, "interactions/segment_tasks.html", {
            "form": form, "segment": segment, "count": count,
        })  # fmt: skip

    def get(self, request, pk):
        return self._render(request, SegmentTaskForm(), segment_visible_or_404(request, pk))

    def post(self, request, pk):
        segment = segment_visible_or_404(request, pk)
        form = SegmentTaskForm(request.POST)
        if form.is_valid():
            try:
                created, skipped = segment_tasks_create(
                    actor=request.user, segment_id=segment.pk, data=form.cleaned_data,
                    request=request,
                )  # fmt: skip
            except ValidationError as error:
                form.add_error(None, error)
            else:
                text = ngettext("%(count)d task created.", "%(count)d tasks created.", created) % {
                    "count": created
                }
                if skipped:
                    text += " " + ngettext(
                        "%(count)d member skipped: you may not give tasks to their owner.",
                        "%(count)d members skipped: you may not give tasks to their owners.",
                        skipped,
                    ) % {"count": skipped}
                messages.success(request, text)
                return redirect(reverse("customers:segment_list"))
        return self._render(request, form, segment)
