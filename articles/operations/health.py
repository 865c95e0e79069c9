from django.conf import settings
from django.db import DatabaseError, connection
from django.http import JsonResponse

from finews import replicas


def healthz(request):
    """For load balancers and monitors: 200 when the primary database answers, 503 when it does not.

    With read replicas it also says how this process last found each ({"replica_1": "lag 0.2 s"},
    "down (…)"): a replica down or behind does not make the site unhealthy, its readers read the primary.
    """
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as error:
        return JsonResponse({"status": "error", "database": type(error).__name__}, status=503)
    answer = {"status": "ok", "database": "ok"}
    if settings.REPLICA_DATABASES:
        replicas.replica_set.check_if_due()
        answer["replicas"] = replicas.replica_set.describe()
    return JsonResponse(answer)
