"""URLs for the browser test of the home summary: the project's URLs plus a page with only the summary."""

from django.http import HttpResponse
from django.template import RequestContext, Template
from django.urls import path

from openmodelhub.urls import urlpatterns as project_urlpatterns

PAGE = Template(
    '{% extends "base.html" %}{% load insights %}{% block content %}{% insights_home_summary %}{% endblock %}'
)


def summary(request):
    return HttpResponse(PAGE.render(RequestContext(request, {})))


urlpatterns = [path("summary/", summary), *project_urlpatterns]
