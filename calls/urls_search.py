from django.urls import path

from calls.views import search

app_name = "search"
urlpatterns = [path("", search.search_everything, name="everything")]
