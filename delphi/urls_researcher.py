from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.urls import path


@login_required
def dashboard(request):  # placeholder until the researcher pages land
    return HttpResponse("Studies")


urlpatterns = [path("", dashboard, name="dashboard")]
