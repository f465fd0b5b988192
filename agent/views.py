import csv

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.text import slugify

from agent import llm, services
from agent.forms import QuestionForm
from agent.models import AgentQuery


def page_wait_seconds() -> int:
    return settings.AGENT_PAGE_WAIT_SECONDS


@login_required
def ask(request: HttpRequest) -> HttpResponse:
    configured = llm.is_configured()
    form = QuestionForm(request.POST or None)
    if request.method == "POST" and configured and form.is_valid():
        query = services.submit_question(
            user=request.user,
            question=form.cleaned_data["question"],
            entity_type=form.cleaned_data.get("entity_type") or "",
        )
        return redirect(query)
    recent = AgentQuery.objects.asked_by(request.user)[:10]
    return render(request, "agent/ask.html", {"form": form, "configured": configured, "recent": recent})


@login_required
def query_detail(request: HttpRequest, pk: int) -> HttpResponse:
    query = get_object_or_404(AgentQuery.objects.asked_by(request.user), pk=pk)
    form = QuestionForm(initial={"question": query.question, "entity_type": query.entity_type})
    return render(
        request,
        "agent/query_detail.html",
        {
            "query": query,
            "form": form,
            "configured": llm.is_configured(),
            "wait_seconds": page_wait_seconds(),
        },
    )


@login_required
def query_status(request: HttpRequest, pk: int) -> JsonResponse:
    query = get_object_or_404(AgentQuery.objects.asked_by(request.user), pk=pk)
    return JsonResponse({"id": query.pk, "status": query.status, "done": query.is_done, "error_code": query.error_code})


def _csv_cell(value) -> str:
    text = "" if value is None else str(value)
    # Spreadsheets run cells that start like formulas; quote them (CSV injection).
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@login_required
def query_csv(request: HttpRequest, pk: int) -> HttpResponse:
    query = get_object_or_404(
        AgentQuery.objects.asked_by(request.user),
        pk=pk,
        status=AgentQuery.Status.DONE,
        error_code=AgentQuery.ErrorCode.OK,
    )
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    name = slugify(query.question)[:50] or "answer"
    response["Content-Disposition"] = f'attachment; filename="agent-{query.pk}-{name}.csv"'
    writer = csv.writer(response)
    writer.writerow([_csv_cell(c) for c in query.columns])
    for row in query.rows:
        writer.writerow([_csv_cell(v) for v in row])
    return response
